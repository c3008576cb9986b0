/* difftest.exe --seed N [--ops K] [--simple]: the trace of one seed's run on stdout.
 * difftest.exe --child ...: the child process of a run (child.c). */

#include "difftest.h"
#include <string.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    unsigned long long seed = 1;
    int ops = 80;

    if (argc > 1 && !strcmp(argv[1], "--child")) return child_main(argc, argv);
    for (int i = 1; i < argc; i++)
    {
        if (!strcmp(argv[i], "--seed") && i + 1 < argc) seed = strtoull(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--ops") && i + 1 < argc) ops = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--simple")) world_simple = 1;
        else
        {
            fprintf(stderr, "usage: difftest.exe --seed N [--ops K] [--simple]\n");
            return 2;
        }
    }
    /* A crash must end the run, not wait in a dialog. */
    SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
    return run_epochs(seed, ops);
}
