// Preloaded into an agent by the kill tests (LD_PRELOAD): SIGKILLs the process at one exact moment, the
// commit of a file written under a lock or a temporary name — git's `<ref>.lock`, the state file's
// temporary copy — so the kill lands inside the window where the lock is held and nothing is renamed yet.
//
// GITOPS_ML_KILL_AT: a substring of the path being committed (the "from" of rename or link; libgit2 commits
//   a lock file with link + unlink where it can, with rename otherwise).
// GITOPS_ML_KILL_ARMED_BY (optional): the kill waits until a commit whose path holds this substring has
//   completed — "between the notes push and the state save" is KILL_ARMED_BY=<notes lock>,
//   KILL_AT=<state file>.
// GITOPS_ML_KILL_AT_COUNT: instead of a path, the Nth commit of any file (counted from 1), so that a test
//   can kill at every commit of a pass in turn.
// GITOPS_ML_KILL_TRACE (optional): every commit is written to stderr, numbered, to find the moment to name.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int armed_done = 0;
static long commits = 0;

static int matches(const char *path, const char *variable) {
    const char *pattern = getenv(variable);
    return pattern != NULL && *pattern != '\0' && path != NULL && strstr(path, pattern) != NULL;
}

static void before(const char *from) {
    long count = __atomic_add_fetch(&commits, 1, __ATOMIC_SEQ_CST);
    if (getenv("GITOPS_ML_KILL_TRACE") != NULL) fprintf(stderr, "kill_at_rename: commit %ld %s\n", count, from);
    const char *at_count = getenv("GITOPS_ML_KILL_AT_COUNT");
    int armed = getenv("GITOPS_ML_KILL_ARMED_BY") == NULL || armed_done;
    if ((at_count != NULL && atol(at_count) == count) || (armed && matches(from, "GITOPS_ML_KILL_AT"))) {
        fprintf(stderr, "kill_at_rename: SIGKILL at %s\n", from);
        fflush(stderr);
        raise(SIGKILL);
    }
}

static void after(const char *from, int result) {
    if (result == 0 && matches(from, "GITOPS_ML_KILL_ARMED_BY")) armed_done = 1;
}

int rename(const char *from, const char *to) {
    static int (*real)(const char *, const char *);
    if (real == NULL) real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    before(from);
    int result = real(from, to);
    after(from, result);
    return result;
}

int renameat(int fromdir, const char *from, int todir, const char *to) {
    static int (*real)(int, const char *, int, const char *);
    if (real == NULL) real = (int (*)(int, const char *, int, const char *))dlsym(RTLD_NEXT, "renameat");
    before(from);
    int result = real(fromdir, from, todir, to);
    after(from, result);
    return result;
}

int renameat2(int fromdir, const char *from, int todir, const char *to, unsigned int flags) {
    static int (*real)(int, const char *, int, const char *, unsigned int);
    if (real == NULL) real = (int (*)(int, const char *, int, const char *, unsigned int))dlsym(RTLD_NEXT, "renameat2");
    before(from);
    int result = real(fromdir, from, todir, to, flags);
    after(from, result);
    return result;
}

int link(const char *from, const char *to) {
    static int (*real)(const char *, const char *);
    if (real == NULL) real = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "link");
    before(from);
    int result = real(from, to);
    after(from, result);
    return result;
}
