#pragma once
#include <zlib.h>

// inflateInit is a macro over inflateInit_, which Swift does not import.
static inline int lookalike_inflate_init(z_stream *stream) { return inflateInit(stream); }
