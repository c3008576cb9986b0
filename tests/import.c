/* The only file that names ws2_32's functions without the test macros: the address the
 * loader bound this program's import to tells which module the drop-in target is. */

#include <winsock2.h>

void *imported_function(void)
{
    return (void *)&WSAStartup;
}
