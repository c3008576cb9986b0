/* The zero descriptor that ends the delay-import table.  dlltool puts its descriptors in
 * .text$2 with none after them, and ld sets no delay-import directory; ld sorts .text$2z
 * right after them, so the table ends as other linkers make it, and check_rebind.sh points
 * the directory at it. */

#include <windows.h>

char rebind_delay_end[32] __attribute__((section(".text$2z"), aligned(16))) = {0};

/* dlltool puts the delay-import address table in .idata$5, among the ordinary imports, and
 * ld 2.44 makes .idata read-only (2.40 left it writable): the delay-load helper, which writes
 * each address there on its first call, would fault.  Writable before main, as the
 * delay-import table of other linkers is. */
extern char __IAT_start__[], __IAT_end__[];

static void __attribute__((constructor)) delay_table_writable(void)
{
    DWORD old;

    VirtualProtect(__IAT_start__, __IAT_end__ - __IAT_start__, PAGE_READWRITE, &old);
}
