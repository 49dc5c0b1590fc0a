/// Makes small JPEG previews for the API and the web page.
public struct Thumbnailer: Sendable {
    /// Longest side of a thumbnail in pixels (default 256). Smaller images are not enlarged.
    public var maxSide: Int
    /// JPEG quality 1...100 (default 85).
    public var quality: Int

    public init(maxSide: Int = 256, quality: Int = 85) {
        self.maxSide = maxSide
        self.quality = quality
    }

    /// The thumbnail's size for an image of the given size: aspect kept, longest side at most ``maxSide``.
    public func size(forWidth width: Int, height: Int) -> (width: Int, height: Int) {
        let longest = max(width, height)
        guard longest > maxSide else { return (width, height) }
        let scale = Double(maxSide) / Double(longest)
        return (max(1, Int((Double(width) * scale).rounded())), max(1, Int((Double(height) * scale).rounded())))
    }

    /// Encodes an antialiased, downscaled JPEG of `image`.
    public func thumbnail(of image: RGBImage) throws(ImagingError) -> [UInt8] {
        guard maxSide > 0 else { throw .invalidArgument("thumbnail size must be positive") }
        let target = size(forWidth: image.width, height: image.height)
        let small = target.width == image.width && target.height == image.height
            ? image : Resampler().resize(image, width: target.width, height: target.height)
        return try JPEGEncoder.encode(small, quality: quality)
    }
}
