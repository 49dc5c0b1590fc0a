import Foundation
import FuzzTargets

// Built two ways. `scripts/fuzz` builds it with `--sanitize=fuzzer` and `-DLOOKALIKE_FUZZING`: libFuzzer then
// supplies `main` and calls the entry point below. A normal build is a replay tool that runs saved inputs
// (a corpus, a crash file) through a target once each, without libFuzzer.

/// The target chosen by `LOOKALIKE_FUZZ_TARGET`; read once.
let selectedTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["LOOKALIKE_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget(rawValue: name) else {
        let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: ", ")
        FileHandle.standardError.write(Data("LOOKALIKE_FUZZ_TARGET must be one of: \(names)\n".utf8))
        exit(2)
    }
    return target
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    selectedTarget.run(input)
    return 0
}

#if !LOOKALIKE_FUZZING
@main
enum ReplayCommand {
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name), arguments.count > 1 else {
            let names = FuzzTarget.allCases.map(\.rawValue).joined(separator: "|")
            print("usage: lookalike-fuzz \(names) FILE_OR_DIRECTORY...")
            exit(2)
        }
        var count = 0
        for path in arguments.dropFirst() {
            for file in inputFiles(at: path) {
                guard let bytes = FileManager.default.contents(atPath: file) else {
                    print("cannot read \(file)")
                    exit(1)
                }
                target.run(Array(bytes))
                count += 1
            }
        }
        print("\(name): \(count) inputs ran without a crash")
    }

    static func inputFiles(at path: String) -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue else {
            return [path]
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return names.sorted().map { path + "/" + $0 }
    }
}
#endif
