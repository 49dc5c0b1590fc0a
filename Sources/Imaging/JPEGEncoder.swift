internal import CTurboJPEG

/// Encodes pixels to JPEG through TurboJPEG (thumbnails, and test images made in code).
public enum JPEGEncoder {
    /// Chroma subsampling of the encoded file.
    public enum Subsampling: Sendable {
        case none444, half422, quarter420

        var turboValue: Int32 {
            switch self {
            case .none444: return Int32(TJSAMP_444.rawValue)
            case .half422: return Int32(TJSAMP_422.rawValue)
            case .quarter420: return Int32(TJSAMP_420.rawValue)
            }
        }
    }

    /// Encodes an RGB image.
    public static func encode(
        _ image: RGBImage, quality: Int = 90, subsampling: Subsampling = .quarter420, progressive: Bool = false
    ) throws(ImagingError) -> [UInt8] {
        try compress(
            image.pixels, width: image.width, height: image.height, pixelFormat: Int32(TJPF_RGB.rawValue),
            subsampling: subsampling.turboValue, quality: quality, progressive: progressive)
    }

    /// Encodes 8-bit grayscale pixels (`width * height` bytes) as a single-component JPEG.
    public static func encodeGrayscale(_ pixels: [UInt8], width: Int, height: Int, quality: Int = 90)
        throws(ImagingError) -> [UInt8]
    {
        guard pixels.count == width * height else { throw .invalidArgument("grayscale buffer has the wrong size") }
        return try compress(
            pixels, width: width, height: height, pixelFormat: Int32(TJPF_GRAY.rawValue),
            subsampling: Int32(TJSAMP_GRAY.rawValue), quality: quality, progressive: false)
    }

    /// Encodes CMYK pixels (`width * height * 4` bytes, Adobe inverted convention) as a YCCK JPEG.
    public static func encodeCMYK(_ pixels: [UInt8], width: Int, height: Int, quality: Int = 90)
        throws(ImagingError) -> [UInt8]
    {
        guard pixels.count == width * height * 4 else { throw .invalidArgument("CMYK buffer has the wrong size") }
        return try compress(
            pixels, width: width, height: height, pixelFormat: Int32(TJPF_CMYK.rawValue),
            subsampling: Int32(TJSAMP_444.rawValue), quality: quality, progressive: false)
    }

    private static func compress(
        _ pixels: [UInt8], width: Int, height: Int, pixelFormat: Int32, subsampling: Int32, quality: Int,
        progressive: Bool
    ) throws(ImagingError) -> [UInt8] {
        guard (1...100).contains(quality) else { throw .invalidArgument("JPEG quality must be 1...100, got \(quality)") }
        guard let handle = tjInitCompress() else { throw .encodingFailed(message: "could not create a compressor") }
        defer { tjDestroy(handle) }
        var output: UnsafeMutablePointer<UInt8>? = nil
        var size: UInt = 0
        let flags: Int32 = progressive ? Int32(TJFLAG_PROGRESSIVE) : 0
        let status = pixels.withUnsafeBufferPointer {
            tjCompress2(
                handle, $0.baseAddress, Int32(width), 0, Int32(height), pixelFormat, &output, &size, subsampling,
                Int32(quality), flags)
        }
        defer { if let output { tjFree(output) } }
        guard status == 0, let output else {
            let message = tjGetErrorStr2(handle).map { String(cString: $0) } ?? "unknown error"
            throw .encodingFailed(message: message)
        }
        return Array(UnsafeBufferPointer(start: output, count: Int(size)))
    }
}
