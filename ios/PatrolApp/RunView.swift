// A patrol run: progress, checkpoints in route order, QR / NFC / GPS (accuracy shown) /
// manual check-in, checklist items, photos (marked up in MarkupView), a notice from
// here, and finishing.
import PatrolKit
import PhotosUI
import SwiftUI

struct RunView: View {
    let runId: String
    @EnvironmentObject var app: AppModel
    var body: some View { Content(runId: runId, model: app.run, app: app) }

    private struct Content: View {
        let runId: String
        @ObservedObject var model: RunModel
        let app: AppModel
        @StateObject private var location = LocationTracker()
        @State private var nfc = NFCReader()
        @State private var scanning = false
        @State private var camera = false
        @State private var cameraRefused = false
        @State private var library: PhotosPickerItem?
        @State private var photoFor: String?
        @State private var manualFor: String?
        @State private var manualReason = ""
        @State private var finishing = false
        @State private var missedReason = ""
        @State private var raising = false
        @State private var marking: PhotoRef?

        var body: some View {
            List {
                FailureBanner(failure: model.failure) { model.failure = nil }
                if let d = model.detail, d.runId == runId {
                    header(d)
                    ForEach(d.checkpoints, id: \.checkpoint.checkpointId) { cp in checkpointRow(cp, offset: app.service.offset(of: d.siteId)) }
                }
            }
            .navigationTitle(model.detail.map { Lang.current.pick($0.routeNameZh, $0.routeNameEn) } ?? "")
            .onAppear {
                model.load(runId)
                location.onFix = { model.track($0) }
                location.start(background: true)
            }
            .onDisappear {
                model.flushTrack()
                location.stop()
            }
            .sheet(isPresented: $scanning) {
                QRScannerView { code in scanning = false; model.checkInQr(code) }.ignoresSafeArea()
            }
            .sheet(isPresented: $camera) {
                CameraPicker { data in model.addPhoto(data, checkpointId: photoFor, fix: location.fix) }
            }
            .onChange(of: library) { item in
                Task {
                    if let data = try? await item?.loadTransferable(type: Data.self) { model.addPhoto(data, checkpointId: photoFor, fix: location.fix) }
                    library = nil
                }
            }
            .alert("run.manual", isPresented: Binding(get: { manualFor != nil }, set: { if !$0 { manualFor = nil } })) {
                TextField("run.manualReason", text: $manualReason)
                Button("confirm") { if let cp = manualFor { model.checkInManual(cp, reason: manualReason) }; manualReason = "" }
                Button("cancel", role: .cancel) {}
            }
            .alert("run.finish", isPresented: $finishing) {
                if model.progress.visited < model.progress.total { TextField("run.missedReason", text: $missedReason) }
                Button("confirm") { model.finish(missedReason: missedReason) }
                Button("cancel", role: .cancel) {}
            }
            .sheet(isPresented: $raising) { NavigationStack { NoticeFormView(done: { raising = false }) } }
            // A sheet: the run screen stays (no onDisappear), so the track keeps recording.
            .sheet(item: $marking) { p in MarkupView(service: app.service, sha256: p.id) { marking = nil } }
            .cameraRefusedAlert(isPresented: $cameraRefused)
            .onChange(of: model.detail?.finishedMs) { finished in if finished != nil { location.stop() } }
        }

        /// Runs `open` once the camera may be used, else shows why it cannot be.
        private func withCamera(_ open: @escaping @MainActor () -> Void) {
            Task { @MainActor in
                if await CameraAccess.allowed() { open() } else { cameraRefused = true }
            }
        }

        @ViewBuilder private func header(_ d: RunDetail) -> some View {
            let p = model.progress
            VStack(alignment: .leading, spacing: 6) {
                Text(String(format: NSLocalizedString("run.progress %lld %lld", comment: ""), p.visited, p.total))
                ProgressView(value: Double(p.visited), total: Double(max(p.total, 1)))
                if location.refused {
                    Text("run.locationRefused").font(.caption).foregroundColor(.red)
                } else if let f = location.fix {
                    Text(String(format: NSLocalizedString("run.accuracy %.0f", comment: ""), f.accuracyM)).font(.caption)
                } else {
                    Text("run.locating").font(.caption)
                }
                if let v = model.lastVisit {
                    Text(v.distanceM.map { String(format: NSLocalizedString("run.distance %.0f", comment: ""), $0) } ?? v.method)
                        .foregroundColor(.green)
                }
                if let s = model.summary {
                    Text(String(format: NSLocalizedString("run.summary %lld %lld %lld", comment: ""), Int(s.visited), Int(s.total), Int(s.problems)))
                }
                if model.isOpen {
                    HStack {
                        Button("run.scan") { withCamera { scanning = true } }.buttonStyle(.borderedProminent)
                        if NFCReader.available {
                            Button("run.nfc") { nfc.scan(prompt: NSLocalizedString("run.nfcPrompt", comment: "")) { model.checkInNfc($0) } }
                                .buttonStyle(.bordered)
                        }
                        Button("run.finish") { finishing = true }.buttonStyle(.bordered)
                    }
                    Button("notice.raise") {
                        app.form.open(siteId: d.siteId, runId: d.runId)
                        raising = true
                    }
                }
                Thumbnails(shas: d.photos) { marking = PhotoRef(id: $0) }
            }
        }

        @ViewBuilder private func checkpointRow(_ cp: RunCheckpoint, offset: Int32) -> some View {
            let lang = Lang.current
            let isNext = cp.checkpoint.checkpointId == model.next?.checkpoint.checkpointId
            VStack(alignment: .leading, spacing: 6) {
                HStack {
                    Text("\(cp.position). \(lang.pick(cp.checkpoint.nameZh, cp.checkpoint.nameEn))").font(.headline)
                    Spacer()
                    if let v = cp.visit { Text("✓ " + Formats.clock(v.timeMs, offsetMinutes: offset)).foregroundColor(.green) }
                }
                if model.isOpen && cp.visit == nil && isNext {
                    HStack {
                        Button("run.gps") { if let f = location.fix { model.checkInGps(cp.checkpoint.checkpointId, f) } }
                            .disabled(location.fix == nil).buttonStyle(.bordered)
                        Button("run.manual") { manualFor = cp.checkpoint.checkpointId }.buttonStyle(.bordered)
                    }
                }
                if cp.visit != nil {
                    ForEach(cp.items, id: \.itemId) { item in
                        Text(lang.pick(item.textZh, item.textEn)).font(.subheadline)
                        Picker("", selection: Binding(
                            get: { item.outcome },
                            set: { if let o = $0 { model.record(cp.checkpoint.checkpointId, item: item.itemId, o) } })) {
                            Text("item.ok").tag(ItemOutcome?.some(.ok))
                            Text("item.problem").tag(ItemOutcome?.some(.problem))
                            Text("item.na").tag(ItemOutcome?.some(.notApplicable))
                        }
                        .pickerStyle(.segmented)
                        .disabled(!model.isOpen)
                    }
                    if model.isOpen {
                        HStack {
                            Button("photo.take") { photoFor = cp.checkpoint.checkpointId; withCamera { camera = true } }.buttonStyle(.bordered)
                            PhotosPicker(selection: $library, matching: .images) { Text("photo.library") }
                                .simultaneousGesture(TapGesture().onEnded { photoFor = cp.checkpoint.checkpointId })
                            Button("notice.raise") {
                                app.form.open(siteId: model.detail?.siteId, runId: model.detail?.runId, checkpointId: cp.checkpoint.checkpointId,
                                              location: lang.pick(cp.checkpoint.nameZh, cp.checkpoint.nameEn))
                                raising = true
                            }.buttonStyle(.bordered)
                        }
                    }
                }
            }
            .listRowBackground(isNext ? Color.accentColor.opacity(0.08) : nil)
        }
    }
}
