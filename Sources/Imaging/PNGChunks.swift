/// Walks the chunks of a PNG that come before its image data; the colour-space check and the ICC profile reader
/// both go through it.
enum PNGChunks {
    /// Calls `body` with each chunk's type and data, until it returns `false` or `IDAT`/`IEND` is reached. A chunk
    /// whose length runs past the buffer is passed with the bytes there are, and ends the walk.
    static func forEachBeforeImageData(in png: [UInt8], _ body: (_ type: ArraySlice<UInt8>, _ data: ArraySlice<UInt8>) -> Bool) {
        var offset = 8
        while offset + 8 <= png.count {
            let length = Int(png[offset]) << 24 | Int(png[offset + 1]) << 16 | Int(png[offset + 2]) << 8 | Int(png[offset + 3])
            let type = png[(offset + 4)..<(offset + 8)]
            if type.elementsEqual("IDAT".utf8) || type.elementsEqual("IEND".utf8) { return }
            let start = offset + 8
            let fits = length <= png.count - start
            guard body(type, png[start..<(fits ? start + length : png.count)]), fits else { return }
            offset = start + length + 4  // and the CRC
        }
    }
}
