extension RGBImage {
    /// Straight (not premultiplied) RGBA composited over white, rounded to nearest: how every decoder with
    /// alpha (WebP, HEIC, AVIF) shows transparency, as product cut-outs sit on white.
    init(compositingOverWhite rgba: [UInt8], width: Int, height: Int) {
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        rgba.withUnsafeBufferPointer { rgba in
            pixels.withUnsafeMutableBufferPointer { pixels in
                for index in 0..<(width * height) {
                    let alpha = UInt32(rgba[index * 4 + 3])
                    for channel in 0..<3 {
                        let value = UInt32(rgba[index * 4 + channel]) * alpha + 255 * (255 - alpha)
                        pixels[index * 3 + channel] = UInt8((value + 127) / 255)
                    }
                }
            }
        }
        self.init(width: width, height: height, pixels: pixels)
    }
}
