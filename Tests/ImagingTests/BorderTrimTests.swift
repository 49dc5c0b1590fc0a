import Testing
@testable import Imaging
import TestSupport

struct BorderTrimTests {
    @Test(arguments: [(255, 255, 255), (0, 0, 0), (40, 120, 200)])
    func addedMarginsAreCutExactly(colour: (UInt8, UInt8, UInt8)) {
        let scene = TestImages.scene(seed: 3, width: 160, height: 120)
        let framed = TestImages.framed(scene, colour: colour, top: 30, bottom: 12, left: 0, right: 45)
        #expect(framed.trimmingUniformBorders() == scene, "\(colour)")
    }

    @Test func anImageWithoutMarginsIsUnchanged() {
        let scene = TestImages.scene(seed: 4, width: 200, height: 150)
        #expect(scene.trimmingUniformBorders() == scene)
    }

    /// A small object on a wide flat background keeps its background: too little would remain.
    @Test func aMostlyFlatImageStaysWhole() {
        let object = TestImages.scene(seed: 5, width: 40, height: 30)
        let framed = TestImages.framed(object, colour: (255, 255, 255), top: 100, bottom: 100, left: 120, right: 120)
        #expect(framed.trimmingUniformBorders() == framed)
        let flat = RGBImage(width: 64, height: 48, pixels: [UInt8](repeating: 200, count: 64 * 48 * 3))
        #expect(flat.trimmingUniformBorders() == flat)
    }

    /// JPEG-like noise in the margin (within the tolerance) still counts as margin.
    @Test func noisyMarginsAreCut() {
        let scene = TestImages.scene(seed: 6, width: 120, height: 90)
        var framed = TestImages.framed(scene, colour: (250, 250, 250), top: 20, bottom: 20, left: 20, right: 20)
        var random = SeededRandom(seed: 9)
        for index in framed.pixels.indices where framed.pixels[index] == 250 {
            framed.pixels[index] = UInt8(Int(250) + Int.random(in: -5...5, using: &random))
        }
        let trimmed = framed.trimmingUniformBorders()
        #expect(abs(trimmed.width - 120) <= 2 && abs(trimmed.height - 90) <= 2, "\(trimmed.width)×\(trimmed.height)")
    }
}
