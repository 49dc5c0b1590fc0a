/// Walks the header segments of a JPEG (the markers before the first scan), never reading outside the buffer
/// whatever the lengths claim; the EXIF orientation and the ICC profile are both read through it.
enum JPEGSegments {
    /// Calls `body` with each segment's marker byte and payload, until it returns `false`, the first scan or
    /// image end, or a segment whose length does not fit.
    static func forEach(in jpeg: [UInt8], _ body: (_ marker: UInt8, _ payload: ArraySlice<UInt8>) -> Bool) {
        guard jpeg.count >= 4, jpeg[0] == 0xFF, jpeg[1] == 0xD8 else { return }
        var offset = 2
        while offset + 4 <= jpeg.count {
            guard jpeg[offset] == 0xFF else { return }
            let marker = jpeg[offset + 1]
            if marker == 0xFF { offset += 1; continue }  // fill bytes
            if marker == 0xDA || marker == 0xD9 { return }  // start of scan / end of image: no more headers
            if marker == 0x01 || (0xD0...0xD7).contains(marker) { offset += 2; continue }  // markers without length
            let length = Int(jpeg[offset + 2]) << 8 | Int(jpeg[offset + 3])
            guard length >= 2, offset + 2 + length <= jpeg.count else { return }
            guard body(marker, jpeg[(offset + 4)..<(offset + 2 + length)]) else { return }
            offset += 2 + length
        }
    }
}
