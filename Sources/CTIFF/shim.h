#pragma once
#include <stdarg.h>
#include <stdio.h>
#include <tiffio.h>

// TIFFGetField is variadic, which Swift cannot call: these read the fields the decoder needs.
static inline int lookalike_tiff_size(TIFF *tiff, uint32_t *width, uint32_t *height) {
    return TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, width) && TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, height);
}

static inline uint16_t lookalike_tiff_orientation(TIFF *tiff) {
    uint16_t orientation = ORIENTATION_TOPLEFT;
    TIFFGetFieldDefaulted(tiff, TIFFTAG_ORIENTATION, &orientation);
    return orientation;
}

// Per-file error and warning handlers (libtiff's defaults print to stderr): an error's text goes into the
// 256-byte buffer given as user data; warnings are dropped.
static inline int lookalike_tiff_error(TIFF *tiff, void *user, const char *module, const char *format, va_list arguments) {
    (void)tiff; (void)module;
    vsnprintf((char *)user, 256, format, arguments);
    return 1;
}

static inline int lookalike_tiff_warning(TIFF *tiff, void *user, const char *module, const char *format, va_list arguments) {
    (void)tiff; (void)user; (void)module; (void)format; (void)arguments;
    return 1;
}

static inline void lookalike_tiff_capture_messages(TIFFOpenOptions *options, char *buffer) {
    TIFFOpenOptionsSetErrorHandlerExtR(options, lookalike_tiff_error, buffer);
    TIFFOpenOptionsSetWarningHandlerExtR(options, lookalike_tiff_warning, NULL);
}

// The embedded ICC profile (TIFFTAG_ICCPROFILE), or 0 without one; `data` stays owned by libtiff.
static inline uint32_t lookalike_tiff_icc_profile(TIFF *tiff, const void **data) {
    uint32_t count = 0;
    if (!TIFFGetField(tiff, TIFFTAG_ICCPROFILE, &count, data)) return 0;
    return count;
}

// Whether the page is plain 8-bit CMYK in strips, interleaved, without extra samples: the layout read raw so that
// an ICC profile can convert it (libtiff's RGBA interface inverts CMYK naively).
static inline int lookalike_tiff_is_plain_cmyk8(TIFF *tiff) {
    uint16_t photometric = 0, bits = 0, samples = 0, planar = PLANARCONFIG_CONTIG, inkset = INKSET_CMYK;
    if (!TIFFGetField(tiff, TIFFTAG_PHOTOMETRIC, &photometric) || photometric != PHOTOMETRIC_SEPARATED) return 0;
    TIFFGetFieldDefaulted(tiff, TIFFTAG_BITSPERSAMPLE, &bits);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, &samples);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_PLANARCONFIG, &planar);
    TIFFGetFieldDefaulted(tiff, TIFFTAG_INKSET, &inkset);
    return bits == 8 && samples == 4 && planar == PLANARCONFIG_CONTIG && inkset == INKSET_CMYK && !TIFFIsTiled(tiff);
}
