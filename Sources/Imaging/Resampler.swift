/// Separable image resampling from a rectangle of an ``RGBImage`` to a new size.
///
/// Each output pixel is a weighted sum of input pixels; the weights come from a one-dimensional filter applied
/// along x, then along y. With ``Filter/antialiasedTriangle`` the filter widens by the downscale factor, so every
/// input pixel contributes (no aliasing when a 500-pixel image becomes 224). ``Filter/bilinear`` is the plain
/// two-tap interpolation with half-pixel centres used by many reference pipelines.
public struct Resampler: Sendable {
    /// The interpolation kernel.
    public enum Filter: String, Sendable, Codable {
        /// Triangle (tent) filter stretched by the scale factor when downscaling: area-like, antialiased.
        case antialiasedTriangle
        /// Two-tap bilinear interpolation, `src = (dst + 0.5) · in/out − 0.5`, clamped; no antialiasing.
        case bilinear
    }

    /// A source rectangle in pixels.
    public struct Region: Sendable, Equatable {
        public var x: Int, y: Int, width: Int, height: Int
        public init(x: Int, y: Int, width: Int, height: Int) {
            self.x = x; self.y = y; self.width = width; self.height = height
        }
    }

    /// Per output coordinate: the first input index and the weights of consecutive inputs.
    struct Taps {
        var start: [Int32]
        var count: [Int32]
        var weights: [Float]
        var stride: Int
    }

    public let filter: Filter

    public init(filter: Filter = .antialiasedTriangle) {
        self.filter = filter
    }

    /// Builds filter taps for mapping `inputSize` samples starting at `offset` to `outputSize` samples.
    func taps(inputSize: Int, offset: Int, outputSize: Int) -> Taps {
        let scale = Double(inputSize) / Double(outputSize)
        switch filter {
        case .bilinear:
            var taps = Taps(start: [], count: [], weights: [], stride: 2)
            for out in 0..<outputSize {
                let source = min(max((Double(out) + 0.5) * scale - 0.5, 0), Double(inputSize - 1))
                let lower = Int(source.rounded(.down))
                let upper = min(lower + 1, inputSize - 1)
                let fraction = Float(source - Double(lower))
                taps.start.append(Int32(offset + lower))
                taps.count.append(upper == lower ? 1 : 2)
                taps.weights.append(upper == lower ? 1 : 1 - fraction)
                taps.weights.append(upper == lower ? 0 : fraction)
            }
            return taps
        case .antialiasedTriangle:
            let filterScale = max(scale, 1)
            let support = filterScale  // the triangle's radius is 1 input pixel, stretched when downscaling
            let stride = Int((support * 2).rounded(.up)) + 2
            var taps = Taps(start: [], count: [], weights: [Float](), stride: stride)
            taps.start.reserveCapacity(outputSize)
            taps.count.reserveCapacity(outputSize)
            taps.weights.reserveCapacity(outputSize * stride)
            var row = [Double](repeating: 0, count: stride)
            for out in 0..<outputSize {
                let center = (Double(out) + 0.5) * scale
                let first = max(Int((center - support).rounded(.down)), 0)
                let last = min(Int((center + support).rounded(.up)), inputSize)
                for index in 0..<stride { row[index] = 0 }
                var total = 0.0
                for index in first..<last {
                    let distance = abs((Double(index) + 0.5 - center) / filterScale)
                    let weight = max(0, 1 - distance)
                    row[index - first] = weight
                    total += weight
                }
                let count = last - first
                taps.start.append(Int32(offset + first))
                taps.count.append(Int32(count))
                for index in 0..<stride { taps.weights.append(total > 0 ? Float(row[index] / total) : 0) }
            }
            return taps
        }
    }

    /// Resamples `region` of `image` to `width × height` and hands each output row to `storeRow(y, row)` as
    /// `width × 3` interleaved R, G, B floats (0...255 range, unrounded), top to bottom.
    ///
    /// The horizontal pass runs once per input row of the region into a float buffer, the vertical pass once per
    /// output row, so the cost is about `(regionHeight + height) × width × taps`.
    func resample(
        _ image: RGBImage, region: Region, width: Int, height: Int,
        storeRow: (_ y: Int, _ row: UnsafeBufferPointer<Float>) -> Void
    ) {
        precondition(width > 0 && height > 0, "resample target must be positive")
        precondition(region.x >= 0 && region.y >= 0 && region.width > 0 && region.height > 0
            && region.x + region.width <= image.width && region.y + region.height <= image.height,
            "resample region must lie inside the image")
        let horizontal = taps(inputSize: region.width, offset: region.x, outputSize: width)
        let vertical = taps(inputSize: region.height, offset: region.y, outputSize: height)

        // Horizontal pass: rows region.y ..< region.y+height of the image → rows of `width` RGB floats. Each
        // input row is widened to floats once, so that a tap is one 4-lane multiply-add on the pixel's R, G, B
        // (and the next pixel's R, whose sum is discarded). The widened row has `horizontal.stride` pixels of
        // zero padding: every output then runs a fixed number of taps (its weights past its own count are 0),
        // which for the usual 2–4 taps is a straight-line sum instead of a short loop of unknown length.
        // Every float of `rows` is written by the pass below (the spare one by the last 4-lane store), so it is
        // not zeroed first.
        var rows = [Float](unsafeUninitializedCapacity: region.height * width * 3 + 1) { _, count in
            count = region.height * width * 3 + 1
        }
        let tapCount = Int(horizontal.count.max() ?? 1)
        var widened = [Float](repeating: 0, count: (region.width + horizontal.stride) * 3 + 1)
        let offsets = horizontal.start.map { (Int($0) - region.x) * 3 }
        image.pixels.withUnsafeBufferPointer { pixels in
            rows.withUnsafeMutableBufferPointer { rows in
                widened.withUnsafeMutableBufferPointer { widened in
                    horizontal.weights.withUnsafeBufferPointer { weights in
                        offsets.withUnsafeBufferPointer { offsets in
                            for row in 0..<region.height {
                                let input = pixels.baseAddress! + ((region.y + row) * image.width + region.x) * 3
                                for index in 0..<region.width * 3 { widened[index] = Float(input[index]) }
                                Self.filterRow(
                                    widened.baseAddress!, offsets: offsets.baseAddress!, weights: weights.baseAddress!,
                                    stride: horizontal.stride, taps: tapCount, width: width,
                                    into: rows.baseAddress! + row * width * 3)
                            }
                        }
                    }
                }
            }
        }
        // Vertical pass.
        var line = [Float](repeating: 0, count: width * 3)
        rows.withUnsafeBufferPointer { rows in
            vertical.weights.withUnsafeBufferPointer { weights in
                line.withUnsafeMutableBufferPointer { line in
                    let line = line.baseAddress!
                    let count = width * 3
                    for y in 0..<height {
                        let start = Int(vertical.start[y]) - region.y
                        let first = rows.baseAddress! + start * count
                        let firstWeight = weights[y * vertical.stride]
                        for index in 0..<count { line[index] = firstWeight * first[index] }
                        for tap in 1..<max(Int(vertical.count[y]), 1) {
                            let weight = weights[y * vertical.stride + tap]
                            let source = rows.baseAddress! + (start + tap) * count
                            for index in 0..<count { line[index] += weight * source[index] }
                        }
                        storeRow(y, UnsafeBufferPointer(start: line, count: count))
                    }
                }
            }
        }
    }

    /// One horizontal pass over a widened row: output pixel `x` is the sum over `taps` taps of
    /// `weights[x · stride + t] · source[offsets[x] + 3t ...]`, stored as 4 lanes (R, G, B, spare) at `x · 3`.
    @inline(__always)
    private static func filterRow(
        _ source: UnsafePointer<Float>, offsets: UnsafePointer<Int>, weights: UnsafePointer<Float>, stride: Int,
        taps: Int, width: Int, into output: UnsafeMutablePointer<Float>
    ) {
        @inline(__always) func pixel(_ x: Int, _ tap: Int) -> SIMD4<Float> {
            UnsafeRawPointer(source + (offsets[x] &+ tap &* 3)).loadUnaligned(as: SIMD4<Float>.self)
        }
        @inline(__always) func store(_ sum: SIMD4<Float>, _ x: Int) {
            // Writing all four lanes is safe (the buffer has one spare float); the fourth is overwritten by
            // the next pixel.
            UnsafeMutableRawPointer(output + x &* 3).storeBytes(of: sum, as: SIMD4<Float>.self)
        }
        // Not `addProduct`: without FMA in the target it is a libm call.
        if taps <= 2 {
            for x in 0..<width {
                let w = weights + x &* stride
                store(w[0] * pixel(x, 0) + w[1] * pixel(x, 1), x)
            }
        } else if taps <= 4 && stride >= 4 {
            for x in 0..<width {
                let w = weights + x &* stride
                store((w[0] * pixel(x, 0) + w[1] * pixel(x, 1)) + (w[2] * pixel(x, 2) + w[3] * pixel(x, 3)), x)
            }
        } else {
            for x in 0..<width {
                let w = weights + x &* stride
                var even = SIMD4<Float>(), odd = SIMD4<Float>()
                var tap = 0
                while tap + 1 < taps {
                    even += w[tap] * pixel(x, tap)
                    odd += w[tap &+ 1] * pixel(x, tap &+ 1)
                    tap &+= 2
                }
                if tap < taps { even += w[tap] * pixel(x, tap) }
                store(even + odd, x)
            }
        }
    }

    /// Resizes a region of `image` to an 8-bit RGB image (rounded to nearest, ties to even; clamped).
    public func resize(_ image: RGBImage, region: Region? = nil, width: Int, height: Int) -> RGBImage {
        let region = region ?? Region(x: 0, y: 0, width: image.width, height: image.height)
        var out = [UInt8](repeating: 0, count: width * height * 3)
        out.withUnsafeMutableBufferPointer { out in
            resample(image, region: region, width: width, height: height) { y, row in
                let destination = out.baseAddress! + y * row.count
                // Adding 1.5·2²³ to a value in 0...255 leaves it, rounded to nearest (ties to even), in the low
                // mantissa bits: no range checks or libm call per value, so the loop vectorises.
                for index in 0..<row.count {
                    let shifted = min(max(row[index], 0), 255) + 12_582_912
                    destination[index] = UInt8(truncatingIfNeeded: shifted.bitPattern)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
