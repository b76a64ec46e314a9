#include <git2.h>
#include <zlib.h>

// git_libgit2_opts is variadic; Swift calls this typed wrapper instead.
static inline int gml_git_opt_int(int option, int value) { return git_libgit2_opts(option, value); }
static inline int gml_git_opt_size(int option, ssize_t value) { return git_libgit2_opts(option, value); }

// inflateInit is a macro; Swift calls this instead (loose objects are inflated by GitStore itself).
static inline int gml_inflate_init(z_stream *stream) { return inflateInit(stream); }
