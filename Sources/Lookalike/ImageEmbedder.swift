public import Imaging
public import Inference
import NIOConcurrencyHelpers

/// Uploaded bytes → feature vector: decode (format from the bytes), preprocess, run the CNN on the pool.
///
/// Nothing runs on Swift's cooperative pool: decoding is CPU-bound (tens of milliseconds for a large photo) and
/// inference blocks. ``embedBlocking(_:)`` blocks its caller (an HTTP connection thread, a CLI worker thread)
/// while an inference worker decodes, preprocesses and runs the model.
public final class ImageEmbedder: Sendable {
    /// What one image yields.
    public struct Embedding: Sendable {
        /// L2-normalised feature vector.
        public let vector: [Float]
        /// The model and weights that produced ``vector``.
        public let model: ModelIdentity
        public let format: ImageFormat
        /// Upright size of the original image.
        public let width: Int
        public let height: Int
        /// JPEG thumbnail (longest side ``Thumbnailer/maxSide``).
        public let thumbnail: [UInt8]
    }

    public let model: ImageModel
    public let pool: InferencePool
    public let decoder: ImageDecoder
    public let preprocessor: ModelInputPreprocessor
    public let thumbnailer: Thumbnailer
    /// Uniform margins are cut before the crop (see ``RGBImage/trimmingUniformBorders(tolerance:minimumKept:)``).
    public let trimBorders: Bool
    /// The vector is the mean of the image's and its mirror image's (two forward passes).
    public let mirrorAverage: Bool
    /// Each feature x becomes sign(x)·|x|^power before the vector is normalised (1: unchanged). Powers below 1
    /// damp the few strongest channels, so more of the vector's channels count in a cosine.
    public let featurePower: Float
    /// The model, its weights and how images become vectors: recorded with every vector, so vectors of another
    /// recipe never meet in one search.
    public let recipe: ModelIdentity
    /// The choices ``recipe`` names.
    public let embeddingRecipe: EmbeddingRecipe

    public init(
        model: ImageModel, pool: InferencePool, limits: DecodingLimits = DecodingLimits(),
        thumbnailer: Thumbnailer = Thumbnailer(), cropPolicy: ModelInputPreprocessor.CropPolicy = .centerSquare,
        trimBorders: Bool = false, mirrorAverage: Bool = false, featurePower: Float = 1
    ) {
        precondition(featurePower > 0 && featurePower <= 1, "the feature power must be in (0, 1]")
        self.model = model
        self.pool = pool
        self.trimBorders = trimBorders
        self.mirrorAverage = mirrorAverage
        self.featurePower = featurePower
        self.embeddingRecipe = EmbeddingRecipe(
            crop: cropPolicy, trimBorders: trimBorders, mirrorAverage: mirrorAverage, featurePower: featurePower)
        self.recipe = ModelIdentity(
            name: model.identity.name + (trimBorders ? "+trim" : "") + (mirrorAverage ? "+mirror" : "")
                + Self.recipeSuffix(of: cropPolicy) + Self.recipeSuffix(ofFeaturePower: featurePower),
            weightsHash: model.identity.weightsHash)
        self.decoder = ImageDecoder(limits: limits)
        self.preprocessor = ModelInputPreprocessor(
            size: model.inputSize, mean: model.inputMean, std: model.inputStd, cropPolicy: cropPolicy)
        self.thumbnailer = thumbnailer
    }

    /// An embedder of another recipe sharing this one's model, worker pool, decoding limits and thumbnails.
    public func withRecipe(_ other: EmbeddingRecipe) -> ImageEmbedder {
        ImageEmbedder(model: model, pool: pool, limits: decoder.limits, thumbnailer: thumbnailer, cropPolicy: other.crop,
                      trimBorders: other.trimBorders, mirrorAverage: other.mirrorAverage, featurePower: other.featurePower)
    }

    /// A prepared image: the decoded pixels' facts, the model input and the thumbnail.
    public struct Prepared: Sendable {
        public let decoded: ImageDecoder.Decoded
        /// The model input, interleaved (HWC; see ``ModelInputPreprocessor/interleavedTensor(from:)``).
        public let tensor: [Float]
        public let thumbnail: [UInt8]
    }

    /// Decodes and preprocesses synchronously on the calling thread; with a region, only that part of the
    /// upright image becomes the model input (and the thumbnail).
    public func prepare(_ bytes: [UInt8], region: ImageRegion? = nil) throws(ImagingError) -> Prepared {
        guard let region else {
            let decoded = try decoder.decode(bytes, minimumShortSide: model.inputSize)
            let input = trimBorders ? decoded.image.trimmingUniformBorders() : decoded.image
            return Prepared(decoded: decoded, tensor: preprocessor.interleavedTensor(from: input),
                            thumbnail: try thumbnailer.thumbnail(of: decoded.image))
        }
        // Full size: a JPEG scaled down for the whole image could leave the region too few pixels.
        let decoded = try decoder.decode(bytes)
        let rect = try region.pixels(imageWidth: decoded.image.width, imageHeight: decoded.image.height)
        let cropped = decoded.image.cropped(x: rect.x, y: rect.y, width: rect.width, height: rect.height)
        return Prepared(decoded: decoded, tensor: preprocessor.interleavedTensor(from: cropped),
                        thumbnail: try thumbnailer.thumbnail(of: cropped))
    }

    /// Decodes, preprocesses and embeds one image (or only `region` of it), blocking the calling thread (not
    /// the cooperative pool): for callers that own their thread, such as HTTP connection threads.
    ///
    /// Decoding and preprocessing run on the inference worker, right before the forward pass (see
    /// ``InferencePool/featuresBlocking(layout:preparing:)``).
    public func embedBlocking(_ bytes: [UInt8], region: ImageRegion? = nil) throws -> Embedding {
        // Written on the inference worker before the pool completes the job, read here after it has.
        let handOver = NIOLockedValueBox<Prepared?>(nil)
        var vector = try pool.featuresBlocking(layout: .interleaved) { [self] in
            let prepared = try prepare(bytes, region: region)
            handOver.withLockedValue { $0 = prepared }
            return prepared.tensor
        }
        let prepared = handOver.withLockedValue { $0 }!
        if mirrorAverage {
            let size = model.inputSize
            let mirrored = try pool.featuresBlocking(layout: .interleaved) {
                Self.mirrored(interleaved: prepared.tensor, size: size)
            }
            vector = FeatureVector.normalized(zip(vector, mirrored).map { $0 + $1 })
        }
        if featurePower != 1 {
            vector = FeatureVector.powered(vector, power: featurePower)
        }
        return Embedding(
            vector: vector, model: recipe, format: prepared.decoded.format,
            width: prepared.decoded.originalWidth, height: prepared.decoded.originalHeight,
            thumbnail: prepared.thumbnail)
    }
}

extension ImageEmbedder {
    /// The crop's mark in the recipe; the centred square, the first recipe, has none, so vectors made before
    /// the crop was a choice keep their recipe.
    static func recipeSuffix(of crop: ModelInputPreprocessor.CropPolicy) -> String {
        switch crop {
        case .centerSquare: ""
        case .squash: "+squash"
        case .pad: "+pad"
        }
    }

    /// The crop a stored vector's recipe name records.
    static func cropPolicy(ofRecipe name: String) -> ModelInputPreprocessor.CropPolicy {
        if name.contains(recipeSuffix(of: .squash)) { return .squash }
        if name.contains(recipeSuffix(of: .pad)) { return .pad }
        return .centerSquare
    }

    /// The feature power's mark in the recipe: none for 1, so earlier vectors keep their recipe.
    static func recipeSuffix(ofFeaturePower power: Float) -> String {
        power == 1 ? "" : "+pow\(power)"
    }

    /// The feature power a stored vector's recipe name records (1 when it has none).
    static func featurePower(ofRecipe name: String) -> Float {
        // The recipe name ends before the weights' hash ("name@hash").
        let recipe = name.split(separator: "@").first.map(String.init) ?? name
        guard let mark = recipe.range(of: "+pow") else { return 1 }
        let digits = recipe[mark.upperBound...].prefix { $0.isNumber || $0 == "." }
        return Float(digits).flatMap { $0 > 0 && $0 <= 1 ? $0 : nil } ?? 1
    }

    /// A square HWC tensor flipped left to right.
    static func mirrored(interleaved tensor: [Float], size: Int) -> [Float] {
        var out = tensor
        for y in 0..<size {
            for x in 0..<size {
                let (from, to) = ((y * size + x) * 3, (y * size + size - 1 - x) * 3)
                out[to] = tensor[from]
                out[to + 1] = tensor[from + 1]
                out[to + 2] = tensor[from + 2]
            }
        }
        return out
    }
}
