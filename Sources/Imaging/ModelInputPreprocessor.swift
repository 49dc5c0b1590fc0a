/// Turns upright RGB pixels into a model's input tensor.
///
/// Crop policy (default ``CropPolicy/centerSquare``): the largest centred square, `side = min(w, h)`,
/// `left = (w − side) / 2`, `top = (h − side) / 2` (integer division), resampled to `size × size`. This is what
/// retrieval pipelines commonly use; it keeps the object in the middle of a product shot at full scale.
///
/// Output layout: CHW (planar R, G, B), `Float`, each value `(pixel − mean[c]) / std[c]`. For EfficientNet-Lite
/// that is `(x − 127) / 128`.
public struct ModelInputPreprocessor: Sendable {
    /// How the model's square input is cut from an image of another shape.
    public enum CropPolicy: String, Sendable, Codable {
        /// The largest centred square.
        case centerSquare
        /// The whole image, squashed to a square (aspect ratio not kept).
        case squash
        /// The whole image, aspect ratio kept, centred in the square on the model's mean colour (zero input).
        case pad
    }

    /// Where the crop's source rectangle lands in the square input: all of it, except with ``CropPolicy/pad``.
    public struct Placement: Sendable, Equatable {
        public var source: Resampler.Region
        public var x: Int, y: Int, width: Int, height: Int

        /// Whether the placed image leaves part of the square empty.
        func leavesMargins(size: Int) -> Bool { width != size || height != size }
    }

    /// Side of the square model input in pixels.
    public let size: Int
    /// Per-channel values subtracted from the 0...255 pixel.
    public let mean: (Float, Float, Float)
    /// Per-channel divisors applied after the mean.
    public let std: (Float, Float, Float)
    public let cropPolicy: CropPolicy
    public let resampler: Resampler

    public init(
        size: Int, mean: (Float, Float, Float), std: (Float, Float, Float),
        cropPolicy: CropPolicy = .centerSquare, filter: Resampler.Filter = .antialiasedTriangle
    ) {
        precondition(size > 0, "model input size must be positive")
        self.size = size
        self.mean = mean
        self.std = std
        self.cropPolicy = cropPolicy
        self.resampler = Resampler(filter: filter)
    }

    /// Number of floats in one tensor: `3 × size × size`.
    public var elementCount: Int { 3 * size * size }

    /// The source rectangle the crop policy selects.
    public func cropRegion(width: Int, height: Int) -> Resampler.Region {
        switch cropPolicy {
        case .centerSquare:
            let side = min(width, height)
            return Resampler.Region(x: (width - side) / 2, y: (height - side) / 2, width: side, height: side)
        case .squash, .pad:
            return Resampler.Region(x: 0, y: 0, width: width, height: height)
        }
    }

    /// The crop's source rectangle and where it lands in the square.
    public func placement(width: Int, height: Int) -> Placement {
        let source = cropRegion(width: width, height: height)
        guard cropPolicy == .pad, width != height else {
            return Placement(source: source, x: 0, y: 0, width: size, height: size)
        }
        // The longer side fills the square; the shorter is scaled alike (at least one pixel) and centred.
        let longer = max(width, height)
        func scaled(_ side: Int) -> Int { max(1, min(size, Int((Double(side * size) / Double(longer)).rounded()))) }
        let (placedWidth, placedHeight) = (scaled(width), scaled(height))
        return Placement(source: source, x: (size - placedWidth) / 2, y: (size - placedHeight) / 2,
                         width: placedWidth, height: placedHeight)
    }

    /// Returns a new CHW tensor for `image`.
    public func tensor(from image: RGBImage) -> [Float] {
        // `write` sets every element, so the buffer is not zeroed first.
        [Float](unsafeUninitializedCapacity: elementCount) { buffer, count in
            write(image, into: buffer)
            count = elementCount
        }
    }

    /// Returns a new HWC tensor for `image`: the same values as ``tensor(from:)``, with each pixel's R, G, B
    /// together. This is the layout the network computes in, so an inference engine that takes it skips a
    /// transposition, and writing it is one contiguous pass per row instead of three strided ones.
    public func interleavedTensor(from image: RGBImage) -> [Float] {
        let size = self.size
        let means = [mean.0, mean.1, mean.2], scales = [1 / std.0, 1 / std.1, 1 / std.2]
        // The per-channel constants repeat every 4 pixels (12 floats, three 4-lane vectors), so a row is
        // normalised in whole vectors, lane for lane the same arithmetic as the planar path.
        func period(_ values: [Float], _ phase: Int) -> SIMD4<Float> {
            SIMD4((0..<4).map { values[(phase * 4 + $0) % 3] })
        }
        let (mean0, mean1, mean2) = (period(means, 0), period(means, 1), period(means, 2))
        let (scale0, scale1, scale2) = (period(scales, 0), period(scales, 1), period(scales, 2))
        let placement = placement(width: image.width, height: image.height)
        return [Float](unsafeUninitializedCapacity: elementCount) { buffer, count in
            let base = buffer.baseAddress!
            // Margins hold the mean colour, which normalises to zero.
            if placement.leavesMargins(size: size) { base.initialize(repeating: 0, count: elementCount) }
            resampler.resample(image, region: placement.source, width: placement.width,
                height: placement.height) { y, row in
                let source = UnsafeRawPointer(row.baseAddress!)
                let start = ((placement.y + y) * size + placement.x) * 3
                let destination = UnsafeMutableRawPointer(base + start)
                let vector = MemoryLayout<SIMD4<Float>>.stride
                var index = 0
                while index + 12 <= row.count {
                    let offset = index * MemoryLayout<Float>.stride
                    let first = source.loadUnaligned(fromByteOffset: offset, as: SIMD4<Float>.self)
                    let second = source.loadUnaligned(fromByteOffset: offset + vector, as: SIMD4<Float>.self)
                    let third = source.loadUnaligned(fromByteOffset: offset + 2 * vector, as: SIMD4<Float>.self)
                    destination.storeBytes(of: (first - mean0) * scale0, toByteOffset: offset, as: SIMD4<Float>.self)
                    destination.storeBytes(of: (second - mean1) * scale1, toByteOffset: offset + vector, as: SIMD4<Float>.self)
                    destination.storeBytes(of: (third - mean2) * scale2, toByteOffset: offset + 2 * vector, as: SIMD4<Float>.self)
                    index += 12
                }
                while index < row.count {
                    base[start + index] = (row[index] - means[index % 3]) * scales[index % 3]
                    index += 1
                }
            }
            count = elementCount
        }
    }

    /// Writes the CHW tensor for `image` into `destination`, which must hold ``elementCount`` floats.
    public func write(_ image: RGBImage, into destination: UnsafeMutableBufferPointer<Float>) {
        precondition(destination.count >= elementCount, "tensor buffer too small")
        let plane = size * size
        let size = self.size
        let (meanR, meanG, meanB) = mean
        let (scaleR, scaleG, scaleB) = (1 / std.0, 1 / std.1, 1 / std.2)
        let base = destination.baseAddress!
        let placement = placement(width: image.width, height: image.height)
        if placement.leavesMargins(size: size) { base.update(repeating: 0, count: elementCount) }
        resampler.resample(image, region: placement.source, width: placement.width,
            height: placement.height) { y, row in
            let red = base + (placement.y + y) * size + placement.x, green = red + plane, blue = green + plane
            for x in 0..<placement.width {
                red[x] = (row[x * 3] - meanR) * scaleR
                green[x] = (row[x * 3 + 1] - meanG) * scaleG
                blue[x] = (row[x * 3 + 2] - meanB) * scaleB
            }
        }
    }
}
