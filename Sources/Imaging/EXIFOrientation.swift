/// The EXIF `Orientation` tag (0x0112): how the stored pixels must be turned to be shown upright.
///
/// Phones store sideways pixels and set this tag instead of rotating, so applying it is what makes a rotated
/// upload and its upright copy produce the same pixels (and the same feature vector).
public enum EXIFOrientation: Int, Sendable, CaseIterable {
    case up = 1, upMirrored = 2, down = 3, downMirrored = 4
    case leftMirrored = 5, right = 6, rightMirrored = 7, left = 8

    /// Whether width and height swap when the orientation is applied.
    public var swapsDimensions: Bool { rawValue >= 5 }

    /// Reads the orientation from the first EXIF APP1 segment of a JPEG; `.up` when absent or unreadable.
    ///
    /// The scan stops at the first start-of-scan marker and never reads outside `jpeg`, whatever the segment
    /// lengths claim.
    public static func read(fromJPEG jpeg: [UInt8]) -> EXIFOrientation {
        var found: EXIFOrientation?
        JPEGSegments.forEach(in: jpeg) { marker, payload in
            if marker == 0xE1 { found = orientation(inAPP1: payload) }
            return found == nil
        }
        return found ?? .up
    }

    /// Parses an APP1 payload (`Exif\0\0` + TIFF structure) and returns IFD0's orientation, if any.
    static func orientation(inAPP1 payload: ArraySlice<UInt8>) -> EXIFOrientation? {
        let bytes = Array(payload)
        guard bytes.count >= 14, bytes[0..<6].elementsEqual([0x45, 0x78, 0x69, 0x66, 0, 0]) else { return nil }
        let tiff = Array(bytes[6...])
        let littleEndian: Bool
        switch (tiff[0], tiff[1]) {
        case (0x49, 0x49): littleEndian = true
        case (0x4D, 0x4D): littleEndian = false
        default: return nil
        }
        func u16(_ at: Int) -> Int? {
            guard at >= 0, at + 2 <= tiff.count else { return nil }
            return littleEndian ? Int(tiff[at]) | Int(tiff[at + 1]) << 8 : Int(tiff[at]) << 8 | Int(tiff[at + 1])
        }
        func u32(_ at: Int) -> Int? {
            guard let low = u16(littleEndian ? at : at + 2), let high = u16(littleEndian ? at + 2 : at) else {
                return nil
            }
            return high << 16 | low
        }
        guard u16(2) == 42, let ifd = u32(4), let entryCount = u16(ifd) else { return nil }
        for entry in 0..<min(entryCount, 1024) {
            let at = ifd + 2 + entry * 12
            guard let tag = u16(at), let type = u16(at + 2) else { return nil }
            if tag == 0x0112 {
                // SHORT (3) is the specified type; some writers use LONG (4).
                let value = type == 4 ? u32(at + 8) : u16(at + 8)
                return value.flatMap(EXIFOrientation.init(rawValue:))
            }
        }
        return nil
    }

    /// Returns `image` turned so that it displays upright.
    public func apply(to image: RGBImage) -> RGBImage {
        if self == .up { return image }
        let width = image.width
        let height = image.height
        let outWidth = swapsDimensions ? height : width
        let outHeight = swapsDimensions ? width : height
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        image.pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { destination in
                for y in 0..<outHeight {
                    for x in 0..<outWidth {
                        // (sx, sy): the stored pixel shown at displayed position (x, y).
                        let (sx, sy): (Int, Int)
                        switch self {
                        case .up: (sx, sy) = (x, y)
                        case .upMirrored: (sx, sy) = (width - 1 - x, y)
                        case .down: (sx, sy) = (width - 1 - x, height - 1 - y)
                        case .downMirrored: (sx, sy) = (x, height - 1 - y)
                        case .leftMirrored: (sx, sy) = (y, x)
                        case .right: (sx, sy) = (y, height - 1 - x)
                        case .rightMirrored: (sx, sy) = (width - 1 - y, height - 1 - x)
                        case .left: (sx, sy) = (width - 1 - y, x)
                        }
                        let from = (sy * width + sx) * 3
                        let to = (y * outWidth + x) * 3
                        destination[to] = source[from]
                        destination[to + 1] = source[from + 1]
                        destination[to + 2] = source[from + 2]
                    }
                }
            }
        }
        return RGBImage(width: outWidth, height: outHeight, pixels: out)
    }
}
