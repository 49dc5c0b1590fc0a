/// A decoded picture as its codec leaves it: a luma plane and two chroma planes (subsampled or not), 8 to 16 bits
/// per sample. ``reducedRGB(factor:)`` turns it into RGB at 1/factor of its size in one
/// pass, averaging each block of samples before converting: this is HEIC's counterpart to JPEG's DCT scaling, and
/// it skips converting and copying the full-size image only for the model's resampler to throw most of it away.
struct YCbCrPlanes {
    struct Plane {
        let base: UnsafeRawPointer
        /// Bytes from one row to the next.
        let stride: Int
        let width: Int
        let height: Int
    }

    /// The YCbCr → RGB matrix of ITU-T H.273 (`matrix_coefficients`), by its luma weights.
    struct Matrix: Equatable {
        let kr: Double
        let kb: Double

        static let bt601 = Matrix(kr: 0.299, kb: 0.114)
        static let bt709 = Matrix(kr: 0.2126, kb: 0.0722)
        static let bt2020 = Matrix(kr: 0.2627, kb: 0.0593)
        static let smpte240 = Matrix(kr: 0.212, kb: 0.087)

        /// The matrix for an H.273 code point; `nil` for the ones that are not a plain luma-weight matrix (RGB,
        /// YCgCo, constant luminance, ICtCp and the chromaticity-derived ones).
        init?(coefficients: Int) {
            switch coefficients {
            case 1: self = .bt709
            case 2, 5, 6: self = .bt601  // 2 = unspecified: the HEIF default
            case 7: self = .smpte240
            case 9: self = .bt2020
            default: return nil
            }
        }

        init(kr: Double, kb: Double) {
            self.kr = kr
            self.kb = kb
        }
    }

    let luma: Plane
    /// `nil` for a monochrome picture.
    let chroma: (cb: Plane, cr: Plane)?
    /// Luma samples per chroma sample across and down: (2, 2) for 4:2:0, (2, 1) for 4:2:2, (1, 1) for 4:4:4.
    let subsampling: (x: Int, y: Int)
    let bitsPerSample: Int
    let matrix: Matrix
    let fullRange: Bool

    /// RGB at `ceil(width / factor) × ceil(height / factor)`, each pixel the average of its block (partial blocks at
    /// the right and bottom edges average what they hold). Averaging before the matrix equals averaging after it,
    /// the matrix being linear; only the final rounding and clamping differ.
    func reducedRGB(factor: Int) -> RGBImage {
        precondition(factor >= 1 && bitsPerSample >= 8 && bitsPerSample <= 16, "YCbCrPlanes: unsupported reduction")
        let width = (luma.width + factor - 1) / factor, height = (luma.height + factor - 1) / factor
        let wide = bitsPerSample > 8
        let lumaSums = blockAverages(luma, factor: factor, wide: wide, width: width, height: height)
        let chromaSums = chroma.map { planes in
            (blockAverages(planes.cb, factor: factor, wide: wide, width: width, height: height, step: subsampling),
             blockAverages(planes.cr, factor: factor, wide: wide, width: width, height: height, step: subsampling))
        }
        // Samples to [0, 1] luma and [−0.5, 0.5] chroma, then the matrix, then 8 bits.
        let maximum = Double((1 << bitsPerSample) - 1)
        let unit = Double(1 << (bitsPerSample - 8))
        let (lumaOffset, lumaScale) = fullRange ? (0.0, 1 / maximum) : (16 * unit, 1 / (219 * unit))
        let (chromaOffset, chromaScale) = fullRange ? (Double(1 << (bitsPerSample - 1)), 1 / maximum) : (128 * unit, 1 / (224 * unit))
        let kg = 1 - matrix.kr - matrix.kb
        let (crToRed, cbToBlue) = (2 * (1 - matrix.kr), 2 * (1 - matrix.kb))
        let (crToGreen, cbToGreen) = (2 * matrix.kr * (1 - matrix.kr) / kg, 2 * matrix.kb * (1 - matrix.kb) / kg)
        func byte(_ value: Double) -> UInt8 { UInt8(max(0, min(255, (value * 255).rounded()))) }
        let count = width * height
        let pixels = [UInt8](unsafeUninitializedCapacity: count * 3) { out, initialized in
            for index in 0..<count {
                let y = (lumaSums[index] - lumaOffset) * lumaScale
                var (r, g, b) = (y, y, y)
                if let (cbSums, crSums) = chromaSums {
                    let cb = (cbSums[index] - chromaOffset) * chromaScale, cr = (crSums[index] - chromaOffset) * chromaScale
                    r = y + crToRed * cr
                    g = y - crToGreen * cr - cbToGreen * cb
                    b = y + cbToBlue * cb
                }
                out[index * 3] = byte(r)
                out[index * 3 + 1] = byte(g)
                out[index * 3 + 2] = byte(b)
            }
            initialized = count * 3
        }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    /// The average sample of each output pixel's block in `plane`. A subsampled chroma plane (`step` luma samples
    /// per sample) covers each block with proportionally fewer samples; `factor` is a multiple of the step.
    private func blockAverages(_ plane: Plane, factor: Int, wide: Bool, width: Int, height: Int, step: (x: Int, y: Int) = (1, 1)) -> [Double] {
        let (blockX, blockY) = (max(1, factor / step.x), max(1, factor / step.y))
        var sums = [Double](repeating: 0, count: width * height)
        var rowSums = [UInt32](repeating: 0, count: width)
        var rowCounts = [UInt32](repeating: 0, count: width)
        for outY in 0..<height {
            let firstRow = outY * blockY
            let lastRow = min(plane.height, firstRow + blockY)
            guard firstRow < lastRow else {
                // A chroma plane rounded down: reuse its last block row.
                for x in 0..<width { sums[outY * width + x] = outY > 0 ? sums[(outY - 1) * width + x] : 0 }
                continue
            }
            for x in 0..<width { rowSums[x] = 0; rowCounts[x] = 0 }
            for row in firstRow..<lastRow {
                let line = plane.base + row * plane.stride
                for outX in 0..<width {
                    let first = outX * blockX
                    let last = min(plane.width, first + blockX)
                    var sum: UInt32 = 0
                    if wide {
                        for x in first..<max(first, last) { sum += UInt32(line.loadUnaligned(fromByteOffset: x * 2, as: UInt16.self)) }
                    } else {
                        for x in first..<max(first, last) { sum += UInt32(line.load(fromByteOffset: x, as: UInt8.self)) }
                    }
                    rowSums[outX] &+= sum
                    rowCounts[outX] &+= UInt32(max(0, last - first))
                }
            }
            for outX in 0..<width {
                let index = outY * width + outX
                if rowCounts[outX] > 0 {
                    sums[index] = Double(rowSums[outX]) / Double(rowCounts[outX])
                } else {
                    sums[index] = outX > 0 ? sums[index - 1] : 0  // a chroma plane rounded down at the right edge
                }
            }
        }
        return sums
    }
}
