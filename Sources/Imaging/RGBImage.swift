/// An 8-bit RGB image, rows top to bottom, pixels interleaved `R G B`, no padding between rows.
public struct RGBImage: Sendable, Equatable {
    /// Width in pixels.
    public let width: Int
    /// Height in pixels.
    public let height: Int
    /// `width * height * 3` bytes.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(width > 0 && height > 0, "RGBImage needs a positive size")
        precondition(pixels.count == width * height * 3, "RGBImage pixel buffer has the wrong size")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A solid image, mostly for tests and placeholders.
    public init(width: Int, height: Int, red: UInt8, green: UInt8, blue: UInt8) {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for index in stride(from: 0, to: pixels.count, by: 3) {
            pixels[index] = red
            pixels[index + 1] = green
            pixels[index + 2] = blue
        }
        self.init(width: width, height: height, pixels: pixels)
    }

    /// The `(r, g, b)` triple at column `x`, row `y`.
    public subscript(x: Int, y: Int) -> (UInt8, UInt8, UInt8) {
        let offset = (y * width + x) * 3
        return (pixels[offset], pixels[offset + 1], pixels[offset + 2])
    }

    /// The sub-image of the given rectangle, which must lie inside the image.
    public func cropped(x: Int, y: Int, width cropWidth: Int, height cropHeight: Int) -> RGBImage {
        precondition(x >= 0 && y >= 0 && cropWidth > 0 && cropHeight > 0, "crop rectangle must be positive")
        precondition(x + cropWidth <= width && y + cropHeight <= height, "crop rectangle must lie inside the image")
        var out = [UInt8](repeating: 0, count: cropWidth * cropHeight * 3)
        let rowBytes = cropWidth * 3
        for row in 0..<cropHeight {
            let source = ((y + row) * width + x) * 3
            out.withUnsafeMutableBufferPointer { dst in
                pixels.withUnsafeBufferPointer { src in
                    (dst.baseAddress! + row * rowBytes).update(from: src.baseAddress! + source, count: rowBytes)
                }
            }
        }
        return RGBImage(width: cropWidth, height: cropHeight, pixels: out)
    }
}
