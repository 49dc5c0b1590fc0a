/// Bounds applied to every decode, checked against the header before any pixel memory is allocated.
public struct DecodingLimits: Sendable, Equatable {
    /// Largest accepted `width × height` (default 50 megapixels).
    public var maxPixels: Int
    /// Largest accepted encoded size in bytes (default 64 MiB).
    public var maxBytes: Int
    /// Largest embedded ICC profile read (default 4 MiB; printer profiles reach a few MB, a display's is a few KB).
    /// A larger one is ignored and the image treated as sRGB.
    public var maxColorProfileBytes: Int

    public init(maxPixels: Int = 50_000_000, maxBytes: Int = 64 << 20, maxColorProfileBytes: Int = 4 << 20) {
        self.maxPixels = maxPixels
        self.maxBytes = maxBytes
        self.maxColorProfileBytes = maxColorProfileBytes
    }

    func check(width: Int, height: Int) throws(ImagingError) {
        guard width > 0, height > 0 else { throw .invalidDimensions(width: width, height: height) }
        // Multiply in a way that cannot overflow for hostile 32-bit header values.
        let (pixels, overflow) = width.multipliedReportingOverflow(by: height)
        if overflow || pixels > maxPixels { throw .tooManyPixels(width: width, height: height, limit: maxPixels) }
    }
}
