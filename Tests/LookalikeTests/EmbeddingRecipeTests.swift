import Foundation
import Imaging
import Inference
@testable import Lookalike
import Testing
import TestSupport

/// The embedding options beyond the plain forward pass: what they compute, and that they are part of the recipe
/// recorded with the vectors (so vectors made another way never meet in one search).
@Suite(.serialized)
struct EmbeddingRecipeTests {
    static let pool: InferencePool = {
        do {
            return try InferencePool(model: CollectionTests.model, configuration: .init(workers: 2, queueCapacity: 8, maxBatch: 1))
        } catch { fatalError("cannot start the inference pool: \(error)") }
    }()

    static func embedder(trim: Bool = false, mirror: Bool = false, crop: ModelInputPreprocessor.CropPolicy = .centerSquare,
                         power: Float = 1) -> ImageEmbedder {
        ImageEmbedder(model: CollectionTests.model, pool: pool, cropPolicy: crop, trimBorders: trim, mirrorAverage: mirror,
                      featurePower: power)
    }

    static func png(_ image: RGBImage) -> [UInt8] {
        PNGWriter(colorType: .rgb).encode(width: image.width, height: image.height, samples: image.pixels.map(Int.init))
    }

    static func mirrored(_ image: RGBImage) -> RGBImage {
        var pixels = image.pixels
        for y in 0..<image.height {
            for x in 0..<image.width {
                for c in 0..<3 { pixels[(y * image.width + x) * 3 + c] = image.pixels[(y * image.width + image.width - 1 - x) * 3 + c] }
            }
        }
        return RGBImage(width: image.width, height: image.height, pixels: pixels)
    }

    @Test func theRecipeNamesEveryOption() {
        let name = CollectionTests.model.identity.name
        #expect(Self.embedder().recipe == CollectionTests.model.identity)
        #expect(Self.embedder(trim: true).recipe.name == name + "+trim")
        #expect(Self.embedder(trim: true, mirror: true).recipe.name == name + "+trim+mirror")
        #expect(Self.embedder(crop: .squash).recipe.name == name + "+squash")
        #expect(ImageEmbedder.cropPolicy(ofRecipe: Self.embedder(trim: true, crop: .squash).recipe.description) == .squash)
        #expect(ImageEmbedder.cropPolicy(ofRecipe: Self.embedder(trim: true).recipe.description) == .centerSquare)
        let padded = Self.embedder(crop: .pad, power: 0.8).recipe
        #expect(padded.name == name + "+pad+pow0.8")
        #expect(ImageEmbedder.cropPolicy(ofRecipe: padded.description) == .pad)
        #expect(ImageEmbedder.featurePower(ofRecipe: padded.description) == 0.8)
        #expect(ImageEmbedder.featurePower(ofRecipe: Self.embedder(crop: .squash).recipe.description) == 1)
    }

    /// The feature power maps each feature of the plain vector to sign(x)·|x|^p and normalises again (checked
    /// against that arithmetic in Double, 1e-5 per component).
    @Test func theFeaturePowerIsAppliedToThePlainVector() throws {
        let bytes = Self.png(TestImages.scene(seed: 24, width: 320, height: 240))
        let plain = try Self.embedder(crop: .pad).embedBlocking(bytes).vector
        let powered = try Self.embedder(crop: .pad, power: 0.5).embedBlocking(bytes).vector
        let mapped = plain.map { Double($0).magnitude.squareRoot() * ($0 < 0 ? -1 : 1) }
        let norm = mapped.reduce(0) { $0 + $1 * $1 }.squareRoot()
        let worst = zip(powered, mapped).map { abs(Double($0) - $1 / norm) }.max() ?? 1
        #expect(worst < 1e-5, "largest difference \(worst)")
        #expect(FeatureVector.cosine(plain, powered) < 0.99, "the power changes the vector")
    }

    /// Padding keeps the aspect ratio: a wide image embeds like the same image letterboxed by hand with bars of
    /// the model's mean colour (squashing that square changes nothing), unlike the squashed wide image.
    @Test func aPaddedImageEmbedsLikeItsLetterboxedCopy() throws {
        let scene = TestImages.scene(seed: 25, width: 448, height: 224)
        let mean = CollectionTests.model.inputMean
        let bar = (UInt8(mean.0.rounded()), UInt8(mean.1.rounded()), UInt8(mean.2.rounded()))
        let letterboxed = TestImages.framed(scene, colour: bar, top: 112, bottom: 112, left: 0, right: 0)
        let padded = try Self.embedder(crop: .pad).embedBlocking(Self.png(scene)).vector
        let byHand = try Self.embedder(crop: .squash).embedBlocking(Self.png(letterboxed)).vector
        let squashed = try Self.embedder(crop: .squash).embedBlocking(Self.png(scene)).vector
        let (toLetterboxed, toSquashed) = (FeatureVector.cosine(padded, byHand), FeatureVector.cosine(padded, squashed))
        // Only the rows at the bars' edges differ: there the letterboxed square's filter mixes in the bars.
        #expect(toLetterboxed > 0.98, "padded against letterboxed: \(toLetterboxed)")
        #expect(toSquashed < toLetterboxed - 0.05, "padded against squashed: \(toSquashed), letterboxed \(toLetterboxed)")
    }

    /// The crop and feature power left to `auto`: a new database pads with power 0.8, a database of
    /// centred-square vectors keeps the centred square and plain features (its images stay searchable), and an
    /// explicit crop that differs leaves them for `reembed`.
    @Test func anExistingDatabaseKeepsTheCropItWasBuiltWith() throws {
        let directory = try CollectionTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let wide = Self.png(TestImages.scene(seed: 23, width: 480, height: 160))
        let fresh = try CollectionTests.open(CollectionTests.configuration(directory))
        #expect(fresh.embedder.recipe.name.hasSuffix("+pad+pow0.8"))
        fresh.shutdown()
        try FileManager.default.removeItem(at: directory.appendingPathComponent("db.sqlite"))

        let centred = try CollectionTests.open(CollectionTests.configuration(directory) {
            $0.model.cropPolicy = "centerSquare"
            $0.model.featurePower = 1
        })
        _ = try centred.ingest(bytes: wide, key: "wide")
        centred.shutdown()
        let automatic = try CollectionTests.open(CollectionTests.configuration(directory))
        #expect(automatic.embedder.recipe == Self.embedder().recipe)
        #expect(try automatic.vectorsFromOtherModels() == 0)
        let found = try automatic.search(bytes: wide, region: nil, options: SearchOptions(k: 1))
        #expect(found.first?.key == "wide" && (found.first?.score ?? 0) > 0.9999)
        automatic.shutdown()

        let squashing = try CollectionTests.open(CollectionTests.configuration(directory) {
            $0.model.cropPolicy = "squash"
            $0.model.featurePower = 1
            $0.storage.keepOriginals = true
        })
        defer { squashing.shutdown() }
        #expect(try squashing.vectorsFromOtherModels() == 1)
        let moved = try squashing.reembed(source: { _, _ in wide }, progress: { _ in })
        #expect(moved.recomputed == 1)
        let squashed = try squashing.search(bytes: wide, region: nil, options: SearchOptions(k: 1))
        #expect(squashed.first?.key == "wide" && (squashed.first?.score ?? 0) > 0.9999)
        // The two crops of a 3:1 image are different inputs.
        let cosine = FeatureVector.cosine(try Self.embedder().embedBlocking(wide).vector,
                                          try Self.embedder(crop: .squash).embedBlocking(wide).vector)
        #expect(cosine < 0.99, "centred square against squashed: \(cosine)")
    }

    /// With the mirror average, an image and its mirror image embed alike (the crop and the resampling are
    /// symmetric); without it they differ.
    @Test func theMirrorAverageIsSymmetric() throws {
        let scene = TestImages.scene(seed: 21, width: 300, height: 200)
        let (original, flipped) = (Self.png(scene), Self.png(Self.mirrored(scene)))
        let plain = Self.embedder()
        let plainCosine = FeatureVector.cosine(try plain.embedBlocking(original).vector, try plain.embedBlocking(flipped).vector)
        let averaged = Self.embedder(mirror: true)
        let a = try averaged.embedBlocking(original), b = try averaged.embedBlocking(flipped)
        let cosine = FeatureVector.cosine(a.vector, b.vector)
        #expect(cosine > 0.9999, "mirror-averaged: \(cosine)")
        #expect(plainCosine < 0.999, "plain: \(plainCosine)")
        #expect(a.model.name.hasSuffix("+mirror"))
    }

    /// With trimming, a framed copy embeds exactly as the unframed image.
    @Test func trimmedMarginsEmbedAsTheImage() throws {
        let scene = TestImages.scene(seed: 22, width: 300, height: 200)
        let framed = TestImages.framed(scene, colour: (255, 255, 255), top: 40, bottom: 40, left: 10, right: 90)
        let trimming = Self.embedder(trim: true)
        let cosine = FeatureVector.cosine(try trimming.embedBlocking(Self.png(scene)).vector,
                                          try trimming.embedBlocking(Self.png(framed)).vector)
        #expect(cosine > 0.99999, "trimmed: \(cosine)")
        let plain = Self.embedder()
        let plainCosine = FeatureVector.cosine(try plain.embedBlocking(Self.png(scene)).vector,
                                               try plain.embedBlocking(Self.png(framed)).vector)
        #expect(plainCosine < 0.99, "untrimmed: \(plainCosine)")
    }

    /// A database embedded one way: a service configured another way leaves those vectors out of search.
    @Test func anotherRecipeDoesNotMixWithStoredVectors() throws {
        let directory = try CollectionTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let plain = try CollectionTests.open(CollectionTests.configuration(directory))
        _ = try plain.ingest(bytes: try CollectionTests.jpeg(1), key: "one")
        plain.shutdown()
        let gem = try CollectionTests.open(CollectionTests.configuration(directory) { $0.model.trimBorders = true })
        defer { gem.shutdown() }
        #expect(try gem.vectorsFromOtherModels() == 1)
        _ = try gem.ingest(bytes: try CollectionTests.jpeg(2), key: "two")
        let found = try gem.search(bytes: try CollectionTests.jpeg(1), region: nil, options: SearchOptions(k: 5))
        #expect(found.map(\.key) == ["two"])
    }

    /// After a recipe change, `reembed` recomputes the stored images' vectors from their originals (or from bytes
    /// found elsewhere), keeps keys and metadata, refuses other bytes, and a second run has nothing to do.
    @Test func reembeddingBringsStoredImagesToTheNewRecipe() throws {
        let directory = try CollectionTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let images = try (1...4).map { try CollectionTests.jpeg(UInt64(30 + $0)) }
        let plain = try CollectionTests.open(CollectionTests.configuration(directory) { $0.storage.keepOriginals = true })
        for (index, bytes) in images.prefix(2).enumerated() {
            _ = try plain.ingest(bytes: bytes, key: "kept-\(index)", metadata: #"{"n": \#(index)}"#)
        }
        plain.shutdown()
        let withoutOriginals = try CollectionTests.open(CollectionTests.configuration(directory))
        _ = try withoutOriginals.ingest(bytes: images[2], key: "found")
        _ = try withoutOriginals.ingest(bytes: images[3], key: "lost")
        withoutOriginals.shutdown()

        let trimming = try CollectionTests.open(CollectionTests.configuration(directory) { $0.model.trimBorders = true })
        defer { trimming.shutdown() }
        #expect(try trimming.vectorsFromOtherModels() == 4)
        var seen: [Int] = []
        let result = try trimming.reembed(source: { key, _ in key == "found" ? images[2] : key == "lost" ? images[0] : nil },
                                          progress: { seen.append($0.done) })
        #expect(result.recomputed == 3 && result.current == 0 && result.total == 4)
        #expect(result.failed.map(\.key) == ["lost"], "other bytes than the stored image's are refused")
        #expect(seen == [1, 2, 3, 4])
        #expect(try trimming.vectorsFromOtherModels() == 1)
        let found = try trimming.search(bytes: images[1], region: nil, options: SearchOptions(k: 1))
        #expect(found.first?.key == "kept-1" && (found.first?.score ?? 0) > 0.9999)
        #expect(try trimming.record(key: "kept-1")?.metadata == #"{"n":1}"#)

        let again = try trimming.reembed()
        #expect(again.recomputed == 0 && again.current == 3 && again.missing == ["lost"])
    }
}
