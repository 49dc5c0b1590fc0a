internal import CHeif

/// Decodes HEIC/HEIF through libheif: the primary image of the file, 8- or 10/12-bit (converted to 8), with the
/// container's rotation and mirroring (`irot`/`imir`) applied by libheif and alpha composited over white. The EXIF
/// orientation a phone also writes is not applied again: the container transform already is the upright one.
///
/// When the caller needs less than full size, the picture comes back reduced by 2, 4 or 8 (``YCbCrPlanes``), as
/// JPEG's DCT scaling does; the original's size is reported with it.
public enum HEIFDecoder {
    public static func decode(_ bytes: [UInt8], limits: DecodingLimits = DecodingLimits()) throws(ImagingError) -> RGBImage {
        try decode(bytes, minimumShortSide: nil, limits: limits).image
    }

    /// - Parameter minimumShortSide: the image may come back reduced while its short side stays at least this
    ///   long; `nil` decodes at full size.
    static func decode(_ bytes: [UInt8], minimumShortSide: Int?, limits: DecodingLimits)
        throws(ImagingError) -> (image: RGBImage, originalWidth: Int, originalHeight: Int)
    {
        guard !bytes.isEmpty else { throw .empty }
        try HEIFReferences.check(bytes, limits: limits)
        guard let context = heif_context_alloc() else { throw .corrupt(format: .heic, message: "out of memory") }
        defer { heif_context_free(context) }
        // libheif's own guard on each side, before it allocates a plane; the pixel limit follows below.
        heif_context_set_maximum_image_size_limit(context, Int32(min(Int(Int32.max), limits.maxPixels)))
        // Tiles of a grid image one after another on this thread: libheif otherwise starts a thread per tile, and
        // a 604-byte file declaring thousands of tiles took 2.8 GB and then failed to start threads (found by the
        // fuzzer). The service decodes several uploads at once already, one per inference worker.
        heif_context_set_max_decoding_threads(context, 0)
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(ImagingError) -> (RGBImage, Int, Int) in
                try decode(raw, context: context, minimumShortSide: minimumShortSide, limits: limits)
            }
        }
        return try result.get()
    }

    private static func decode(_ raw: UnsafeRawBufferPointer, context: OpaquePointer, minimumShortSide: Int?, limits: DecodingLimits)
        throws(ImagingError) -> (RGBImage, Int, Int)
    {
        try check(heif_context_read_from_memory_without_copy(context, raw.baseAddress, raw.count, nil))
        var handle: OpaquePointer? = nil
        try check(heif_context_get_primary_image_handle(context, &handle))
        guard let handle else { throw .corrupt(format: .heic, message: "no primary image") }
        defer { heif_image_handle_release(handle) }
        let width = Int(heif_image_handle_get_width(handle)), height = Int(heif_image_handle_get_height(handle))
        try limits.check(width: width, height: height)
        let profile = iccProfile(of: handle, limit: limits.maxColorProfileBytes)
        let factor = reductionFactor(width: width, height: height, minimumShortSide: minimumShortSide)
        // Alpha goes over white pixel by pixel, before any averaging: such images are decoded at full size.
        if factor > 1, heif_image_handle_has_alpha_channel(handle) == 0,
           let reduced = try decodeReduced(handle, width: width, height: height, factor: factor) {
            return (ColorManagement.sRGB(reduced, iccProfile: profile), width, height)
        }
        return (ColorManagement.sRGB(try decodeFullSize(handle, width: width, height: height), iccProfile: profile), width, height)
    }

    /// The largest of 2, 4 and 8 that keeps the short side at least `minimumShortSide`; 1 for full size.
    static func reductionFactor(width: Int, height: Int, minimumShortSide: Int?) -> Int {
        guard let minimumShortSide, minimumShortSide > 0 else { return 1 }
        var factor = 1
        while factor < 8 && min(width, height) / (factor * 2) >= minimumShortSide { factor *= 2 }
        return factor
    }

    /// The picture in the codec's own planes, reduced by `factor`; `nil` when libheif hands back a layout other
    /// than YCbCr or monochrome, a matrix other than a plain luma-weight one, or an alpha plane (the caller then
    /// decodes to RGB).
    private static func decodeReduced(_ handle: OpaquePointer, width: Int, height: Int, factor: Int) throws(ImagingError) -> RGBImage? {
        var decoded: OpaquePointer? = nil
        // 4:2:0 is what cameras and encoders write, so libheif hands the codec's planes over as they are (asking
        // for the "original" layout makes libheif 1.15 convert to RGB); a 4:4:4 file is subsampled on the way.
        try check(heif_decode_image(handle, &decoded, heif_colorspace_YCbCr, heif_chroma_420, nil))
        guard let image = decoded else { throw .corrupt(format: .heic, message: "the image did not decode") }
        defer { heif_image_release(image) }
        let colorspace = heif_image_get_colorspace(image), chroma = heif_image_get_chroma_format(image)
        let subsampling: (x: Int, y: Int)
        switch (colorspace, chroma) {
        case (heif_colorspace_YCbCr, heif_chroma_420): subsampling = (2, 2)
        case (heif_colorspace_YCbCr, heif_chroma_422): subsampling = (2, 1)
        case (heif_colorspace_YCbCr, heif_chroma_444), (heif_colorspace_monochrome, heif_chroma_monochrome): subsampling = (1, 1)
        default: return nil
        }
        func plane(_ channel: heif_channel) -> YCbCrPlanes.Plane? {
            guard heif_image_has_channel(image, channel) != 0 else { return nil }
            var stride: Int32 = 0
            guard let base = heif_image_get_plane_readonly(image, channel, &stride) else { return nil }
            return YCbCrPlanes.Plane(base: UnsafeRawPointer(base), stride: Int(stride), width: Int(heif_image_get_width(image, channel)),
                                     height: Int(heif_image_get_height(image, channel)))
        }
        let bits = Int(heif_image_get_bits_per_pixel_range(image, heif_channel_Y))
        guard let luma = plane(heif_channel_Y), luma.width == width, luma.height == height, (8...16).contains(bits) else { return nil }
        var chromaPlanes: (cb: YCbCrPlanes.Plane, cr: YCbCrPlanes.Plane)? = nil
        if colorspace == heif_colorspace_YCbCr {
            guard let cb = plane(heif_channel_Cb), let cr = plane(heif_channel_Cr),
                  cb.width == (width + subsampling.x - 1) / subsampling.x, cb.height == (height + subsampling.y - 1) / subsampling.y,
                  cr.width == cb.width, cr.height == cb.height else { return nil }
            chromaPlanes = (cb, cr)
        }
        guard heif_image_has_channel(image, heif_channel_Alpha) == 0 else { return nil }
        // The colour description libheif decoded with the image (the `colr` box, or the codec's own); without one,
        // libheif's default, BT.601 at full range.
        var matrix = YCbCrPlanes.Matrix.bt601
        var fullRange = true
        var nclx: UnsafeMutablePointer<heif_color_profile_nclx>? = nil
        if heif_image_get_nclx_color_profile(image, &nclx).code == heif_error_Ok, let nclx {
            defer { heif_nclx_color_profile_free(nclx) }
            guard let described = YCbCrPlanes.Matrix(coefficients: Int(nclx.pointee.matrix_coefficients.rawValue)) else { return nil }
            matrix = described
            fullRange = nclx.pointee.full_range_flag != 0
        }
        let planes = YCbCrPlanes(luma: luma, chroma: chromaPlanes, subsampling: subsampling, bitsPerSample: bits,
                                 matrix: matrix, fullRange: fullRange)
        return planes.reducedRGB(factor: factor)
    }

    /// The picture converted to RGB by libheif, at full size.
    private static func decodeFullSize(_ handle: OpaquePointer, width: Int, height: Int) throws(ImagingError) -> RGBImage {
        let hasAlpha = heif_image_handle_has_alpha_channel(handle) != 0
        var image: OpaquePointer? = nil
        try check(heif_decode_image(handle, &image, heif_colorspace_RGB,
                                    hasAlpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, nil))
        guard let image else { throw .corrupt(format: .heic, message: "the image did not decode") }
        defer { heif_image_release(image) }
        var stride: Int32 = 0
        guard let plane = heif_image_get_plane_readonly(image, heif_channel_interleaved, &stride) else {
            throw .corrupt(format: .heic, message: "the decoded image has no pixels")
        }
        let decodedWidth = Int(heif_image_get_width(image, heif_channel_interleaved))
        let decodedHeight = Int(heif_image_get_height(image, heif_channel_interleaved))
        let channels = hasAlpha ? 4 : 3
        guard decodedWidth == width, decodedHeight == height, Int(stride) >= width * channels else {
            throw .corrupt(format: .heic, message: "the decoded image is \(decodedWidth)×\(decodedHeight), not \(width)×\(height)")
        }
        // Rows as they are, one copy each; alpha then goes over white.
        let pixels = [UInt8](unsafeUninitializedCapacity: width * height * channels) { buffer, initialized in
            for y in 0..<height {
                (buffer.baseAddress! + y * width * channels).update(from: plane + y * Int(stride), count: width * channels)
            }
            initialized = width * height * channels
        }
        return hasAlpha ? RGBImage(compositingOverWhite: pixels, width: width, height: height)
            : RGBImage(width: width, height: height, pixels: pixels)
    }

    /// The ICC profile of a `colr` box of type `prof` or `rICC`; `nil` for none, for `nclx` (colour primaries as
    /// code points, which libheif's conversion to RGB leaves in place) and for one over `limit`.
    private static func iccProfile(of handle: OpaquePointer, limit: Int) -> [UInt8]? {
        let type = heif_image_handle_get_color_profile_type(handle)
        guard type == heif_color_profile_type_prof || type == heif_color_profile_type_rICC else { return nil }
        let size = heif_image_handle_get_raw_color_profile_size(handle)
        guard size > 0, size <= limit else { return nil }
        var profile = [UInt8](repeating: 0, count: size)
        let error = profile.withUnsafeMutableBytes { heif_image_handle_get_raw_color_profile(handle, $0.baseAddress) }
        return error.code == heif_error_Ok ? profile : nil
    }

    private static func check(_ error: heif_error) throws(ImagingError) {
        guard error.code != heif_error_Ok else { return }
        let message = error.message.map { String(cString: $0) } ?? "libheif error \(error.code.rawValue)"
        switch error.code {
        case heif_error_Unsupported_filetype, heif_error_Unsupported_feature:
            throw .unsupportedVariant(format: .heic, reason: message.lowercased())
        default:
            throw .corrupt(format: .heic, message: message)
        }
    }
}
