/* The zero descriptor that ends the delay-import table.  dlltool puts its descriptors in
 * .text$2 with none after them, and ld sets no delay-import directory; ld sorts .text$2z
 * right after them, so the table ends as other linkers make it, and check_rebind.sh points
 * the directory at it. */
char rebind_delay_end[32] __attribute__((section(".text$2z"), aligned(16))) = {0};
