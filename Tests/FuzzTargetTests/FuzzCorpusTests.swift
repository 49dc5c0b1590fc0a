import Foundation
import FuzzTargets
import Testing

/// Replays the committed seed corpus and every input the fuzzer once crashed on (`Corpus/crashes/TARGET`), so a
/// fixed crash stays fixed. A crash here fails the whole test process, which is the point.
@Suite struct FuzzCorpusTests {
    static let corpus = Bundle.module.resourceURL!.appendingPathComponent("Corpus")

    static func files(in folder: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
        return names.sorted().map { folder.appendingPathComponent($0) }
    }

    @Test(arguments: FuzzTarget.allCases)
    func seedsAndPastCrashesRunCleanly(target: FuzzTarget) throws {
        let seeds = Self.files(in: Self.corpus.appendingPathComponent(target.rawValue))
        #expect(seeds.count >= 2, "every target has a seed corpus")
        let crashes = Self.files(in: Self.corpus.appendingPathComponent("crashes").appendingPathComponent(target.rawValue))
        for file in seeds + crashes {
            target.run(Array(try Data(contentsOf: file)))
        }
    }

    /// The seeds are valid inputs, so each target's happy path is reached: a target that silently rejected
    /// everything would make the fuzzer useless.
    @Test func seedsAreAcceptedByTheirComponents() throws {
        let jpeg = Self.files(in: Self.corpus.appendingPathComponent("jpeg"))
        #expect(jpeg.count >= 5)
        let png = Self.files(in: Self.corpus.appendingPathComponent("png"))
        #expect(png.count >= 5)
        let webp = Self.files(in: Self.corpus.appendingPathComponent("webp"))
        #expect(webp.count >= 5)
        let gif = Self.files(in: Self.corpus.appendingPathComponent("gif"))
        #expect(gif.count >= 5)
        // The run-length compressed bitmap is there to reach the refusal, not to decode.
        let bmp = Self.files(in: Self.corpus.appendingPathComponent("bmp")).filter { $0.lastPathComponent != "rle8.bmp" }
        #expect(bmp.count >= 5)
        let tiff = Self.files(in: Self.corpus.appendingPathComponent("tiff"))
        #expect(tiff.count >= 5)
        let heic = Self.files(in: Self.corpus.appendingPathComponent("heic"))
        let avif = Self.files(in: Self.corpus.appendingPathComponent("avif"))
        #expect(heic.count >= 3 && avif.count >= 3)
        for file in jpeg + png + webp + gif + bmp + tiff + heic + avif {
            #expect(FuzzTarget.decodes(Array(try Data(contentsOf: file))), "\(file.lastPathComponent) decodes")
        }
    }
}
