// The header's inline wrapper is the whole module; SwiftPM wants one source file in a C target.
#include "cprocess.h"
