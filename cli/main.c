/* SPDX-License-Identifier: MIT */
/* warrenctl: the admin CLI. Not built yet (see the admin issue): it says so
 * and exits non-zero rather than pretending to work. */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
    if (argc > 1 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        puts("warrenctl - warren's admin CLI (not implemented yet)");
        return 0;
    }
    fputs("warrenctl: not implemented yet\n", stderr);
    return 2;
}
