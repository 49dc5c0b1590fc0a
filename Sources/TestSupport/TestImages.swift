public import Imaging

/// Images made in code for tests.
public enum TestImages {
    /// A smooth, asymmetric RGB pattern: gradients plus a bright block in the top-left quadrant, so that
    /// flips and rotations are detectable and JPEG compresses it with little error.
    public static func pattern(width: Int, height: Int) -> RGBImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            for x in 0..<width {
                let offset = (y * width + x) * 3
                let inBlock = x < width / 3 && y < height / 3
                pixels[offset] = inBlock ? 250 : UInt8(x * 200 / max(width - 1, 1))
                pixels[offset + 1] = inBlock ? 240 : UInt8(y * 200 / max(height - 1, 1))
                pixels[offset + 2] = inBlock ? 20 : UInt8(((x + y) * 120) / max(width + height - 2, 1))
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// A distinct synthetic scene per seed: a colour gradient with a few solid rectangles and discs.
    public static func scene(seed: UInt64, width: Int = 320, height: Int = 240) -> RGBImage {
        var random = SeededRandom(seed: seed)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let base = (0..<6).map { _ in Int.random(in: 0...255, using: &random) }
        for y in 0..<height {
            for x in 0..<width {
                let offset = (y * width + x) * 3
                pixels[offset] = UInt8((base[0] * (width - x) + base[1] * x) / width)
                pixels[offset + 1] = UInt8((base[2] * (height - y) + base[3] * y) / height)
                pixels[offset + 2] = UInt8((base[4] + base[5] * (x + y) / (width + height)) / 2)
            }
        }
        for shape in 0..<6 {
            let color = (0..<3).map { _ in UInt8.random(in: 0...255, using: &random) }
            let cx = Int.random(in: 0..<width, using: &random), cy = Int.random(in: 0..<height, using: &random)
            let radius = Int.random(in: 15...70, using: &random)
            for y in max(0, cy - radius)..<min(height, cy + radius) {
                for x in max(0, cx - radius)..<min(width, cx + radius) {
                    let inside = shape % 2 == 0 || (x - cx) * (x - cx) + (y - cy) * (y - cy) <= radius * radius
                    if inside {
                        let offset = (y * width + x) * 3
                        pixels[offset] = color[0]; pixels[offset + 1] = color[1]; pixels[offset + 2] = color[2]
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// Inserts an EXIF APP1 segment holding only an Orientation tag right after the JPEG's SOI marker.
    public static func withEXIFOrientation(_ jpeg: [UInt8], orientation: Int, bigEndian: Bool = false) -> [UInt8] {
        func u16(_ v: Int) -> [UInt8] { bigEndian ? [UInt8(v >> 8), UInt8(v & 0xFF)] : [UInt8(v & 0xFF), UInt8(v >> 8)] }
        func u32(_ v: Int) -> [UInt8] { bigEndian ? u16(v >> 16) + u16(v & 0xFFFF) : u16(v & 0xFFFF) + u16(v >> 16) }
        var tiff: [UInt8] = bigEndian ? [0x4D, 0x4D] : [0x49, 0x49]
        tiff += u16(42) + u32(8)
        tiff += u16(1)  // one IFD entry
        tiff += u16(0x0112) + u16(3) + u32(1) + u16(orientation) + u16(0)
        tiff += u32(0)  // no next IFD
        let payload = Array("Exif".utf8) + [0, 0] + tiff
        let length = payload.count + 2
        let segment: [UInt8] = [0xFF, 0xE1, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
        return Array(jpeg[0..<2]) + segment + Array(jpeg[2...])
    }

    /// Mean absolute difference per channel value between two images of the same size.
    public static func meanAbsoluteDifference(_ a: RGBImage, _ b: RGBImage) -> Double {
        precondition(a.width == b.width && a.height == b.height, "images differ in size")
        var total = 0
        for index in 0..<a.pixels.count { total += abs(Int(a.pixels[index]) - Int(b.pixels[index])) }
        return Double(total) / Double(a.pixels.count)
    }

    /// Deterministic pseudo-random bytes.
    public static func randomBytes(count: Int, seed: UInt64) -> [UInt8] {
        var generator = SeededRandom(seed: seed)
        return (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
    }

    /// `image` framed by a flat margin of `colour`, `top`, `bottom`, `left` and `right` pixels wide.
    public static func framed(_ image: RGBImage, colour: (UInt8, UInt8, UInt8), top: Int, bottom: Int, left: Int, right: Int) -> RGBImage {
        let (width, height) = (image.width + left + right, image.height + top + bottom)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for index in 0..<(width * height) { (pixels[index * 3], pixels[index * 3 + 1], pixels[index * 3 + 2]) = colour }
        for y in 0..<image.height {
            let target = ((y + top) * width + left) * 3
            pixels.replaceSubrange(target..<(target + image.width * 3),
                                   with: image.pixels[(y * image.width * 3)..<((y + 1) * image.width * 3)])
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }
}
