internal import CLCMS2

/// A Little CMS transform from an embedded ICC profile to sRGB, 8 bits per sample.
///
/// Made once per distinct profile (``ColorManagement`` keeps them) and then shared by the decoding threads: it is
/// built without lcms's one-pixel cache, which is what makes `cmsDoTransform` safe to call concurrently.
///
/// Display and camera profiles (Display P3, Adobe RGB) are matrix/TRC profiles: three tone curves and a 3×3 matrix.
/// For those the conversion runs through tables of our own (curves as 256-entry tables, one matrix, sRGB's curve
/// as a 4,096-entry table), several times faster than lcms's 8-bit path; they are checked against lcms on a grid
/// of colours when made and dropped for lcms if any colour differs by more than one level.
/// `@unchecked Sendable` is safe because its fields are set in the initialiser only, and an lcms transform made
/// with `cmsFLAGS_NOCACHE` keeps no state between calls.
final class ColorTransform: @unchecked Sendable {
    /// How the decoder's samples are laid out.
    enum Input: Hashable, Sendable {
        case rgb
        /// CMYK, 0 = no ink (TIFF).
        case cmyk
        /// CMYK, 255 = no ink (Adobe's CMYK and YCCK JPEGs).
        case invertedCMYK

        var channels: Int { self == .rgb ? 3 : 4 }
    }

    let input: Input
    /// Whether the profile is sRGB in all but name: no pixel moves by more than one level, so conversion is skipped.
    private(set) var isIdentity = false
    private let transform: cmsHTRANSFORM
    private var matrixShaper: MatrixShaper?

    /// The transform from `iccProfile` to sRGB, or `nil` when lcms cannot parse the profile or it describes another
    /// colour space than `input` (a grey or CMYK profile on RGB pixels): such an image is treated as untagged.
    init?(iccProfile: [UInt8], input: Input) {
        _ = Self.silenceLibrary
        guard let source = iccProfile.withUnsafeBytes({ cmsOpenProfileFromMem($0.baseAddress, cmsUInt32Number($0.count)) })
        else { return nil }
        defer { cmsCloseProfile(source) }
        let expected = input == .rgb ? cmsSigRgbData : cmsSigCmykData
        guard cmsGetColorSpace(source) == expected, let sRGB = cmsCreate_sRGBProfile() else { return nil }
        defer { cmsCloseProfile(sRGB) }
        let format = switch input {
        case .rgb: lookalike_lcms_rgb8()
        case .cmyk: lookalike_lcms_cmyk8()
        case .invertedCMYK: lookalike_lcms_cmyk8_inverted()
        }
        guard let transform = cmsCreateTransform(source, format, sRGB, lookalike_lcms_rgb8(), cmsUInt32Number(INTENT_PERCEPTUAL),
                                                 cmsUInt32Number(cmsFLAGS_NOCACHE))
        else { return nil }
        self.transform = transform
        self.input = input
        if input == .rgb {
            isIdentity = Self.movesNoColour(transform)
            if !isIdentity, let tables = MatrixShaper(source: source, sRGB: sRGB), tables.agrees(with: transform) {
                matrixShaper = tables
            }
        }
    }

    deinit { cmsDeleteTransform(transform) }

    /// `samples` (`count` pixels in the input layout) converted to sRGB.
    func convert(_ samples: UnsafeRawBufferPointer, count: Int) -> [UInt8] {
        precondition(samples.count >= count * input.channels, "ColorTransform: too few samples")
        if let matrixShaper { return matrixShaper.convert(samples.bindMemory(to: UInt8.self), count: count) }
        return convertThroughLittleCMS(samples, count: count)
    }

    /// Whether conversion runs through the matrix/TRC tables rather than lcms.
    var usesTables: Bool { matrixShaper != nil }

    /// The conversion by lcms itself, whatever the profile.
    func convertThroughLittleCMS(_ samples: UnsafeRawBufferPointer, count: Int) -> [UInt8] {
        precondition(samples.count >= count * input.channels, "ColorTransform: too few samples")
        return [UInt8](unsafeUninitializedCapacity: count * 3) { output, initialized in
            // lcms counts pixels in 32 bits: large images go through in slices.
            var done = 0
            while done < count {
                let slice = min(count - done, 1 << 24)
                cmsDoTransform(transform, samples.baseAddress! + done * input.channels, output.baseAddress! + done * 3,
                               cmsUInt32Number(slice))
                done += slice
            }
            initialized = count * 3
        }
    }

    /// Runs a grid of 8³ colours through: a profile equivalent to sRGB returns each within one level.
    private static func movesNoColour(_ transform: cmsHTRANSFORM) -> Bool {
        let grid = colourGrid(levels: 8)
        return zip(grid, run(transform, on: grid)).allSatisfy { abs(Int($0) - Int($1)) <= 1 }
    }

    /// `levels`³ RGB colours spread over the cube, corners included.
    static func colourGrid(levels: Int) -> [UInt8] {
        let steps = (0..<levels).map { UInt8($0 * 255 / (levels - 1)) }
        var grid: [UInt8] = []
        grid.reserveCapacity(levels * levels * levels * 3)
        for red in steps { for green in steps { for blue in steps { grid += [red, green, blue] } } }
        return grid
    }

    static func run(_ transform: cmsHTRANSFORM, on rgb: [UInt8]) -> [UInt8] {
        var output = [UInt8](repeating: 0, count: rgb.count)
        rgb.withUnsafeBytes { source in
            output.withUnsafeMutableBytes { target in
                cmsDoTransform(transform, source.baseAddress, target.baseAddress, cmsUInt32Number(rgb.count / 3))
            }
        }
        return output
    }

    /// A matrix/TRC profile to sRGB as tables: decode each channel to linear light, one 3×3 matrix from the
    /// profile's primaries to sRGB's (both adapted to D50, as ICC colorant tags are), encode with sRGB's curve.
    private struct MatrixShaper {
        let decode: [[Float]]  // per channel, 256 entries
        let matrix: [Float]  // row-major 3×3
        let encode: [UInt8]  // linear light in 4,096 steps → sRGB

        static let encodeSteps = 4096
        /// Bound on the decode tables' and the matrix's values: three products of two such values cannot overflow.
        static let largestTableValue: Float = 1e6

        init?(source: cmsHPROFILE, sRGB: cmsHPROFILE) {
            guard cmsIsMatrixShaper(source) != 0, cmsIsMatrixShaper(sRGB) != 0,
                  let sourceColorants = Self.colorants(source), let targetColorants = Self.colorants(sRGB),
                  let inverse = Self.inverse(targetColorants) else { return nil }
            var decode: [[Float]] = []
            for tag in [cmsSigRedTRCTag, cmsSigGreenTRCTag, cmsSigBlueTRCTag] {
                guard let curve = cmsReadTag(source, tag) else { return nil }
                let tone = OpaquePointer(curve)
                decode.append((0..<256).map { cmsEvalToneCurveFloat(tone, Float($0) / 255) })
            }
            // sRGB's own tone curve, inverted by lcms.
            guard let sRGBCurve = cmsReadTag(sRGB, cmsSigRedTRCTag), let encoding = cmsReverseToneCurve(OpaquePointer(sRGBCurve))
            else { return nil }
            defer { cmsFreeToneCurve(encoding) }
            var matrix = [Float](repeating: 0, count: 9)
            for row in 0..<3 { for column in 0..<3 { matrix[row * 3 + column] = (0..<3).reduce(0) { $0 + inverse[row * 3 + $1] * sourceColorants[$1 * 3 + column] } } }
            // A damaged profile can give curves or primaries that are not finite, or so large that the products
            // overflow; those are left to lcms, so that every value the tables produce is a number.
            let bounded = { (value: Float) in value.isFinite && abs(value) <= Self.largestTableValue }
            guard matrix.allSatisfy(bounded), decode.allSatisfy({ $0.allSatisfy(bounded) }) else { return nil }
            self.decode = decode
            self.matrix = matrix
            encode = (0..<Self.encodeSteps).map { step in
                let encoded = cmsEvalToneCurveFloat(encoding, Float(step) / Float(Self.encodeSteps - 1))
                return UInt8(max(0, min(255, (encoded * 255).rounded())))
            }
        }

        /// The colorant matrix (columns: the red, green and blue primaries' XYZ), row-major.
        private static func colorants(_ profile: cmsHPROFILE) -> [Float]? {
            var columns: [cmsCIEXYZ] = []
            for tag in [cmsSigRedColorantTag, cmsSigGreenColorantTag, cmsSigBlueColorantTag] {
                guard let xyz = cmsReadTag(profile, tag) else { return nil }
                columns.append(xyz.assumingMemoryBound(to: cmsCIEXYZ.self).pointee)
            }
            return [columns[0].X, columns[1].X, columns[2].X, columns[0].Y, columns[1].Y, columns[2].Y,
                    columns[0].Z, columns[1].Z, columns[2].Z].map { Float($0) }
        }

        private static func inverse(_ m: [Float]) -> [Float]? {
            let (a, b, c, d, e, f, g, h, i) = (Double(m[0]), Double(m[1]), Double(m[2]), Double(m[3]), Double(m[4]), Double(m[5]),
                                               Double(m[6]), Double(m[7]), Double(m[8]))
            let determinant = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
            guard abs(determinant) > 1e-9 else { return nil }
            return [e * i - f * h, c * h - b * i, b * f - c * e, f * g - d * i, a * i - c * g, c * d - a * f,
                    d * h - e * g, b * g - a * h, a * e - b * d].map { Float($0 / determinant) }
        }

        /// Every colour of a 32³ grid within one level of lcms's answer.
        func agrees(with transform: cmsHTRANSFORM) -> Bool {
            let grid = ColorTransform.colourGrid(levels: 32)
            let ours = grid.withUnsafeBufferPointer { convert($0, count: grid.count / 3) }
            return zip(ours, ColorTransform.run(transform, on: grid)).allSatisfy { abs(Int($0) - Int($1)) <= 1 }
        }

        func convert(_ samples: UnsafeBufferPointer<UInt8>, count: Int) -> [UInt8] {
            let m = matrix
            let (m0, m1, m2, m3, m4, m5, m6, m7, m8) = (m[0], m[1], m[2], m[3], m[4], m[5], m[6], m[7], m[8])
            let top = Float(Self.encodeSteps - 1)
            return [UInt8](unsafeUninitializedCapacity: count * 3) { output, initialized in
                decode[0].withUnsafeBufferPointer { red in
                    decode[1].withUnsafeBufferPointer { green in
                        decode[2].withUnsafeBufferPointer { blue in
                            encode.withUnsafeBufferPointer { encode in
                                // Table indices come from bytes (0...255) and from values clamped to [0, 1].
                                @inline(__always) func encoded(_ linear: Float) -> UInt8 {
                                    encode[Int(min(max(linear, 0), 1) * top + 0.5)]
                                }
                                var at = 0
                                for _ in 0..<count {
                                    let r = red[Int(samples[at])], g = green[Int(samples[at + 1])], b = blue[Int(samples[at + 2])]
                                    output[at] = encoded(m0 * r + m1 * g + m2 * b)
                                    output[at + 1] = encoded(m3 * r + m4 * g + m5 * b)
                                    output[at + 2] = encoded(m6 * r + m7 * g + m8 * b)
                                    at += 3
                                }
                            }
                        }
                    }
                }
                initialized = count * 3
            }
        }
    }

    /// lcms's default handler prints nothing in release builds; a no-op one makes sure a bad profile stays quiet.
    private static let silenceLibrary: Void = cmsSetLogErrorHandler { _, _, _ in }
}
