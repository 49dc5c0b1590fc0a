internal import CGIF

/// Decodes a GIF's first frame through giflib's record-level API (never `DGifSlurp`, which would decode every
/// frame of an animation): the frame is drawn at its offset on a white canvas of the logical screen's size, its
/// transparent colour left white, as PNG and WebP transparency are.
public enum GIFDecoder {
    public static func decode(_ bytes: [UInt8], limits: DecodingLimits = DecodingLimits()) throws(ImagingError) -> RGBImage {
        guard !bytes.isEmpty else { throw .empty }
        let source = Source(bytes: bytes)
        return try withExtendedLifetime(source) { () throws(ImagingError) -> RGBImage in
            var status: Int32 = 0
            guard let gif = DGifOpen(Unmanaged.passUnretained(source).toOpaque(), Source.read, &status) else {
                throw corrupt(status)
            }
            defer { DGifCloseFile(gif, &status) }
            return try firstFrame(gif, limits: limits)
        }
    }

    private static func firstFrame(_ gif: UnsafeMutablePointer<GifFileType>, limits: DecodingLimits) throws(ImagingError) -> RGBImage {
        let width = Int(gif.pointee.SWidth), height = Int(gif.pointee.SHeight)
        try limits.check(width: width, height: height)
        var transparent: Int? = nil
        while true {
            var record = UNDEFINED_RECORD_TYPE
            guard DGifGetRecordType(gif, &record) == GIF_OK else { throw corrupt(gif.pointee.Error) }
            switch record {
            case IMAGE_DESC_RECORD_TYPE:
                guard DGifGetImageDesc(gif) == GIF_OK else { throw corrupt(gif.pointee.Error) }
                return try drawFrame(gif, width: width, height: height, transparent: transparent, limits: limits)
            case EXTENSION_RECORD_TYPE:
                var code: Int32 = 0
                var block: UnsafeMutablePointer<GifByteType>? = nil
                guard DGifGetExtension(gif, &code, &block) == GIF_OK else { throw corrupt(gif.pointee.Error) }
                // Graphic control: a 4-byte block whose first byte's low bit says the index in the fourth is transparent.
                if code == GRAPHICS_EXT_FUNC_CODE, let block, block[0] >= 4 {
                    transparent = block[1] & 1 != 0 ? Int(block[4]) : nil
                }
                while block != nil {
                    guard DGifGetExtensionNext(gif, &block) == GIF_OK else { throw corrupt(gif.pointee.Error) }
                }
            case TERMINATE_RECORD_TYPE:
                throw .corrupt(format: .gif, message: "the file holds no image")
            default:
                throw .corrupt(format: .gif, message: "unexpected record")
            }
        }
    }

    private static func drawFrame(
        _ gif: UnsafeMutablePointer<GifFileType>, width: Int, height: Int, transparent: Int?, limits: DecodingLimits
    ) throws(ImagingError) -> RGBImage {
        let frame = gif.pointee.Image
        let (left, top, frameWidth, frameHeight) = (Int(frame.Left), Int(frame.Top), Int(frame.Width), Int(frame.Height))
        // The frame is decoded line by line even where it hangs off the canvas, so it is bounded like one.
        try limits.check(width: frameWidth, height: frameHeight)
        guard let colorMap = frame.ColorMap ?? gif.pointee.SColorMap else {
            throw .corrupt(format: .gif, message: "the image has no colour table")
        }
        // A 256-entry table, so each pixel is one lookup: the transparent index, and those past the colour table,
        // map to white (the canvas).
        var palette = [UInt8](repeating: 255, count: 256 * 3)
        for index in 0..<min(256, Int(max(0, colorMap.pointee.ColorCount))) where index != transparent {
            let color = colorMap.pointee.Colors[index]
            (palette[index * 3], palette[index * 3 + 1], palette[index * 3 + 2]) = (color.Red, color.Green, color.Blue)
        }
        var pixels = [UInt8](repeating: 255, count: width * height * 3)
        var line = [GifPixelType](repeating: 0, count: frameWidth)
        // The part of each row that lands on the screen.
        let visible = max(0, min(frameWidth, width - left))
        try pixels.withUnsafeMutableBufferPointer { pixels throws(ImagingError) in
            try line.withUnsafeMutableBufferPointer { line throws(ImagingError) in
                try palette.withUnsafeBufferPointer { palette throws(ImagingError) in
                    for row in rowOrder(height: frameHeight, interlaced: frame.Interlace) {
                        guard DGifGetLine(gif, line.baseAddress, Int32(frameWidth)) == GIF_OK else { throw corrupt(gif.pointee.Error) }
                        let y = top + row
                        guard y < height else { continue }
                        var offset = (y * width + left) * 3
                        for x in 0..<visible {
                            let entry = Int(line[x]) * 3
                            pixels[offset] = palette[entry]
                            pixels[offset + 1] = palette[entry + 1]
                            pixels[offset + 2] = palette[entry + 2]
                            offset += 3
                        }
                    }
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// The order the rows arrive in: top to bottom, or the four interlace passes (every 8th row from 0, every 8th
    /// from 4, every 4th from 2, every 2nd from 1).
    static func rowOrder(height: Int, interlaced: Bool) -> [Int] {
        guard interlaced else { return Array(0..<height) }
        return [(0, 8), (4, 8), (2, 4), (1, 2)].flatMap { start, step in Array(stride(from: start, to: height, by: step)) }
    }

    private static func corrupt(_ code: Int32) -> ImagingError {
        let message = GifErrorString(code).map { String(cString: $0) } ?? "giflib error \(code)"
        return .corrupt(format: .gif, message: message)
    }

    /// The bytes giflib reads through its callback.
    private final class Source {
        let bytes: [UInt8]
        var position = 0

        init(bytes: [UInt8]) { self.bytes = bytes }

        static let read: InputFunc = { gif, buffer, wanted in
            guard let gif, let buffer, wanted > 0, let user = gif.pointee.UserData else { return 0 }
            let source = Unmanaged<Source>.fromOpaque(user).takeUnretainedValue()
            let count = min(Int(wanted), source.bytes.count - source.position)
            source.bytes.withUnsafeBufferPointer { bytes in
                buffer.update(from: bytes.baseAddress! + source.position, count: count)
            }
            source.position += count
            return Int32(count)
        }
    }
}
