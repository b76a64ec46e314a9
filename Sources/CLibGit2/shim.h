#include <git2.h>

// git_libgit2_opts is variadic; Swift calls this typed wrapper instead.
static inline int gml_git_opt_int(int option, int value) { return git_libgit2_opts(option, value); }
