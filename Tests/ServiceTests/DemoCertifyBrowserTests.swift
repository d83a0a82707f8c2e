import Testing
import Foundation
@testable import Service

/// The demo page's certificate line, in headless Chromium: the original's certified radius next
/// to the attack's measured L2 norm.
@Suite("Demo page certificate", .serialized)
struct DemoCertifyBrowserTests {
    @Test func page_showsTheCertificateBesideTheAttacksL2Norm() async throws {
        let chromium = try #require(Chromium.locate(), "chromium not found (scripts/install-deps.sh --test)")
        let s = try await DemoBrowserTests.startService(TestService.configuration(), loadFromDisk: false)
        do {
            let url = s.base + "/?autorun=1&attack=fgsm&eps=0.2&purifier=vae&seed=1&certify=1"
            let run = try await Chromium.run(chromium, Chromium.arguments + ["--dump-dom", url], timeout: 150)
            #expect(!run.timedOut && run.status == 0, "chromium: \(run.stderr.suffix(1000))")
            let dom = run.stdout
            #expect(dom.contains("data-state=\"done\""), "status: \(DemoBrowserTests.element(dom, id: "status") ?? "")")
            let line = DemoBrowserTests.element(dom, id: "certificate") ?? ""
            #expect(line.hasPrefix("Certificate:"), "#certificate: '\(line)'")
            #expect(line.contains("n=200") && line.contains("denoiser vae"), "#certificate: '\(line)'")
            // Either a radius compared with the attack's L2 norm, or an abstention.
            #expect(line.contains("The attack's L2 norm") || line.contains("abstains"), "#certificate: '\(line)'")
            #expect((DemoBrowserTests.element(dom, id: "js-errors") ?? "x").isEmpty)
        } catch {
            await s.stop()
            throw error
        }
        await s.stop()
    }
}
