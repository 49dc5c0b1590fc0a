internal import CTurboJPEG

/// Decodes JPEG through the TurboJPEG API of libjpeg-turbo.
///
/// The header is read first and checked against ``DecodingLimits`` before pixel memory is allocated. The image is
/// decoded straight to RGB at the smallest DCT scaling factor whose short side still covers `minimumShortSide`:
/// decoding a 12-megapixel photo at 1/8 scale skips most of the inverse DCT and upsampling work.
public enum JPEGDecoder {
    /// Size and colour space as read from the frame header.
    public struct Header: Sendable, Equatable {
        public let width: Int
        public let height: Int
        public let isCMYK: Bool
        public let isGrayscale: Bool
    }

    /// Reads the frame header only. Related docs: `tjDecompressHeader3` in turbojpeg.h.
    public static func readHeader(_ bytes: [UInt8]) throws(ImagingError) -> Header {
        let handle = try makeHandle()
        defer { tjDestroy(handle) }
        return try readHeader(bytes, handle: handle)
    }

    /// Decodes `bytes` to RGB, applying the EXIF orientation.
    ///
    /// - Parameters:
    ///   - minimumShortSide: decode at the smallest scale whose shorter side is at least this many pixels
    ///     (`nil`: full size).
    ///   - limits: pixel limit checked against the header before decoding.
    public static func decode(
        _ bytes: [UInt8], minimumShortSide: Int? = nil, limits: DecodingLimits = DecodingLimits()
    ) throws(ImagingError) -> RGBImage {
        guard !bytes.isEmpty else { throw .empty }
        let handle = try makeHandle()
        defer { tjDestroy(handle) }
        let header = try readHeader(bytes, handle: handle)
        try limits.check(width: header.width, height: header.height)

        let factor = scalingFactor(width: header.width, height: header.height, minimumShortSide: minimumShortSide)
        let width = scaled(header.width, factor)
        let height = scaled(header.height, factor)
        let channels = header.isCMYK ? 4 : 3
        let pixelFormat = header.isCMYK ? TJPF_CMYK : TJPF_RGB
        var buffer = [UInt8](repeating: 0, count: width * height * channels)
        let status = buffer.withUnsafeMutableBufferPointer { destination in
            bytes.withUnsafeBufferPointer { source in
                tjDecompress2(
                    handle, source.baseAddress, UInt(source.count), destination.baseAddress,
                    Int32(width), 0, Int32(height), pixelFormat.rawValue, 0)
            }
        }
        if status != 0 {
            let message = errorMessage(handle)
            // libjpeg reports a truncated stream only as a warning and pads with grey; we refuse it, because a
            // half-grey image would silently poison search results. Other warnings are accepted, as browsers do.
            let isWarning = tjGetErrorCode(handle) == TJERR_WARNING.rawValue
            if !isWarning || message.contains("Premature end") {
                throw .corrupt(format: .jpeg, message: message)
            }
        }
        // Colour: the APP2 profile to sRGB; CMYK through its profile, or the naive inversion without one.
        let profile = EmbeddedColorProfile.inJPEG(bytes, limit: limits.maxColorProfileBytes)
        let image = header.isCMYK
            ? ColorManagement.sRGB(cmyk: buffer, width: width, height: height, inverted: true, iccProfile: profile)
                ?? RGBImage(width: width, height: height, pixels: convertCMYKToRGB(buffer, pixelCount: width * height))
            : ColorManagement.sRGB(RGBImage(width: width, height: height, pixels: buffer), iccProfile: profile)
        let orientation = EXIFOrientation.read(fromJPEG: bytes)
        return orientation.apply(to: image)
    }

    /// The scale factor chosen for a given size; exposed so callers can predict the decoded size.
    static func scalingFactor(width: Int, height: Int, minimumShortSide: Int?) -> (num: Int, denom: Int) {
        guard let minimumShortSide, minimumShortSide > 0 else { return (1, 1) }
        var count: Int32 = 0
        guard let factors = tjGetScalingFactors(&count) else { return (1, 1) }
        var best = (num: 1, denom: 1)
        for index in 0..<Int(count) {
            let candidate = (num: Int(factors[index].num), denom: Int(factors[index].denom))
            // Only downscaling factors; keep the smallest one that still covers the requested short side.
            guard candidate.num <= candidate.denom else { continue }
            let shortSide = min(scaled(width, candidate), scaled(height, candidate))
            if shortSide >= minimumShortSide && candidate.num * best.denom < best.num * candidate.denom {
                best = candidate
            }
        }
        return best
    }

    private static func scaled(_ dimension: Int, _ factor: (num: Int, denom: Int)) -> Int {
        (dimension * factor.num + factor.denom - 1) / factor.denom  // TJSCALED in turbojpeg.h
    }

    private static func makeHandle() throws(ImagingError) -> tjhandle {
        guard let handle = tjInitDecompress() else {
            throw .corrupt(format: .jpeg, message: "could not create a TurboJPEG decompressor")
        }
        return handle
    }

    private static func readHeader(_ bytes: [UInt8], handle: tjhandle) throws(ImagingError) -> Header {
        guard !bytes.isEmpty else { throw .empty }
        var width: Int32 = 0
        var height: Int32 = 0
        var subsampling: Int32 = 0
        var colorspace: Int32 = 0
        let status = bytes.withUnsafeBufferPointer {
            tjDecompressHeader3(handle, $0.baseAddress, UInt($0.count), &width, &height, &subsampling, &colorspace)
        }
        guard status == 0 else { throw .corrupt(format: .jpeg, message: errorMessage(handle)) }
        let isCMYK = colorspace == TJCS_CMYK.rawValue || colorspace == TJCS_YCCK.rawValue
        return Header(
            width: Int(width), height: Int(height), isCMYK: isCMYK, isGrayscale: colorspace == TJCS_GRAY.rawValue)
    }

    private static func errorMessage(_ handle: tjhandle) -> String {
        guard let text = tjGetErrorStr2(handle) else { return "unknown libjpeg-turbo error" }
        return String(cString: text)
    }

    /// CMYK JPEGs are stored in Adobe's inverted convention (255 = no ink), which TurboJPEG passes through.
    private static func convertCMYKToRGB(_ cmyk: [UInt8], pixelCount: Int) -> [UInt8] {
        var rgb = [UInt8](repeating: 0, count: pixelCount * 3)
        for index in 0..<pixelCount {
            let k = Int(cmyk[index * 4 + 3])
            for channel in 0..<3 {
                rgb[index * 3 + channel] = UInt8((Int(cmyk[index * 4 + channel]) * k + 127) / 255)
            }
        }
        return rgb
    }
}
