internal import CHeif

/// Decodes HEIC/HEIF through libheif: the primary image of the file, 8- or 10/12-bit (converted to 8), with the
/// container's rotation and mirroring (`irot`/`imir`) applied by libheif and alpha composited over white. The EXIF
/// orientation a phone also writes is not applied again: the container transform already is the upright one.
public enum HEIFDecoder {
    public static func decode(_ bytes: [UInt8], limits: DecodingLimits = DecodingLimits()) throws(ImagingError) -> RGBImage {
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
            Result { () throws(ImagingError) -> RGBImage in try decode(raw, context: context, limits: limits) }
        }
        return try result.get()
    }

    private static func decode(_ raw: UnsafeRawBufferPointer, context: OpaquePointer, limits: DecodingLimits) throws(ImagingError) -> RGBImage {
        try check(heif_context_read_from_memory_without_copy(context, raw.baseAddress, raw.count, nil))
        var handle: OpaquePointer? = nil
        try check(heif_context_get_primary_image_handle(context, &handle))
        guard let handle else { throw .corrupt(format: .heic, message: "no primary image") }
        defer { heif_image_handle_release(handle) }
        let width = Int(heif_image_handle_get_width(handle)), height = Int(heif_image_handle_get_height(handle))
        try limits.check(width: width, height: height)
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
        let decoded = hasAlpha ? RGBImage(compositingOverWhite: pixels, width: width, height: height)
            : RGBImage(width: width, height: height, pixels: pixels)
        return ColorManagement.sRGB(decoded, iccProfile: iccProfile(of: handle, limit: limits.maxColorProfileBytes))
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
