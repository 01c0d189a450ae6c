/* SPDX-License-Identifier: MIT */
/* warren-bench: the load generator. Not built yet (see the benchmark
 * issue): it says so and exits non-zero rather than pretending to work. */
#include <stdio.h>
#include <string.h>

int
main(int argc, char **argv)
{
    if (argc > 1 &&
        (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
        puts("warren-bench - AMQP load generator (not implemented yet)");
        return 0;
    }
    fputs("warren-bench: not implemented yet\n", stderr);
    return 2;
}
