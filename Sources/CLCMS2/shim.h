#pragma once
#include <lcms2.h>

// The pixel-format constants are macro expressions, which Swift does not import.
static inline cmsUInt32Number lookalike_lcms_rgb8(void) { return TYPE_RGB_8; }
// CMYK with 0 = no ink (TIFF's convention) and with 255 = no ink (Adobe's inverted CMYK JPEGs).
static inline cmsUInt32Number lookalike_lcms_cmyk8(void) { return TYPE_CMYK_8; }
static inline cmsUInt32Number lookalike_lcms_cmyk8_inverted(void) { return TYPE_CMYK_8_REV; }
