import Testing
@testable import Lookalike

struct ModelLocationTests {
    @Test func explicitThenEnvironmentThenDefault() {
        #expect(ModelLocation.resolve(explicitPath: "/m.safetensors", environment: ["LOOKALIKE_MODEL": "/e"]) == "/m.safetensors")
        #expect(ModelLocation.resolve(environment: ["LOOKALIKE_MODEL": "/e", "LOOKALIKE_MODEL_DIR": "/d"]) == "/e")
        #expect(ModelLocation.resolve(environment: ["LOOKALIKE_MODEL_DIR": "/d"]) == "/d/efficientnet-lite0.safetensors")
        #expect(ModelLocation.resolve(environment: [:]) == "models/efficientnet-lite0.safetensors")
    }
}
