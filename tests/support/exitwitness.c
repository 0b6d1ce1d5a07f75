/* An exit() with a witness, preloaded into the request-path fuzzer's process
 * (tests/support/fuzz.py): the calling thread's native stack goes to stderr, then the real
 * exit() runs. libFuzzer's "fuzz target exited" names no caller; this does. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

void exit(int status) {
    void *frames[64];
    int n = backtrace(frames, 64);
    fprintf(stderr, "=== exit witness === exit(%d) on thread %ld of process %d:\n", status,
            (long)syscall(SYS_gettid), (int)getpid());
    backtrace_symbols_fd(frames, n, 2);
    void (*real)(int) = (void (*)(int))dlsym(RTLD_NEXT, "exit");
    real(status);
    _exit(status); /* not reached */
}
