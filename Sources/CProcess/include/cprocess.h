#ifndef GITOPS_ML_CPROCESS_H
#define GITOPS_ML_CPROCESS_H
// prctl is variadic, which Swift cannot call: one typed wrapper for the one call gitops-ml makes.
#include <sys/prctl.h>

/// Marks this process non-dumpable: processes of the same user can no longer read its memory or
/// /proc/PID/environ (root still can). Returns 0, or -1 with errno.
static inline int gitops_ml_set_nondumpable(void) { return prctl(PR_SET_DUMPABLE, 0, 0, 0, 0); }

#endif
