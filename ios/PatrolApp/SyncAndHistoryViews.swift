// Sync status (queued counts, last sync, error, progress, sync now, refused actions,
// sign out) and history (runs walked on this phone).
import PatrolKit
import SwiftUI

struct SyncView: View {
    @EnvironmentObject var app: AppModel
    var body: some View { Content(model: app.sync, session: app.session) }

    private struct Content: View {
        @ObservedObject var model: SyncModel
        let session: SessionModel

        var body: some View {
            List {
                FailureBanner(failure: model.failure) { model.failure = nil }
                if let s = model.state {
                    if let server = s.signedInTo { Text(server).font(.caption) }
                    Text(String(format: NSLocalizedString("sync.records %lld", comment: ""), Int(s.queuedRecords)))
                    Text(String(format: NSLocalizedString("sync.photos %lld %@", comment: ""), Int(s.queuedPhotos), Formats.bytes(s.queuedPhotoBytes)))
                    if let t = s.lastSuccessMs {
                        Text(Date(timeIntervalSince1970: TimeInterval(t) / 1000), style: .relative)
                    } else {
                        Text("sync.never")
                    }
                    if let e = s.lastError { Text(Lang.current.pick(s.lastErrorZh ?? e, e)).foregroundColor(.red) }
                }
                if model.busy, let p = model.progress {
                    switch p.phase {
                    case .push: ProgressView(value: Double(p.recordsSent), total: Double(max(p.recordsToSend, 1))) { Text("sync.push") }
                    case .photos: ProgressView(value: Double(p.photoBytesSent), total: Double(max(p.photoBytesToSend, 1))) { Text("sync.photosPhase") }
                    case .pull: ProgressView { Text("sync.pull") }
                    }
                }
                HStack {
                    Button("sync.now") { model.syncNow() }.buttonStyle(.borderedProminent).disabled(model.busy)
                    if model.busy { Button("cancel") { model.cancel() } }
                }
                if !model.rejections.isEmpty {
                    Section(header: Text("sync.rejections")) {
                        ForEach(model.rejections, id: \.recordId) { r in
                            Text("#\(r.seq) \(r.kind): \(Lang.current == .en ? r.reason : r.reasonZh)").foregroundColor(.red)
                        }
                    }
                }
                Button("signout", role: .destructive) { session.signOut() }
            }
            .navigationTitle(Text("tab.sync"))
            .onAppear { model.refresh() }
        }
    }
}

struct HistoryView: View {
    @EnvironmentObject var app: AppModel
    var body: some View { Content(model: app.history, service: app.service) }

    private struct Content: View {
        @ObservedObject var model: HistoryModel
        @ObservedObject var service: PatrolService

        var body: some View {
            List {
                FailureBanner(failure: model.failure) { model.failure = nil }
                if model.runs.isEmpty { Text("history.empty") }
                ForEach(model.runs, id: \.runId) { r in
                    NavigationLink(destination: RunView(runId: r.runId)) {
                        VStack(alignment: .leading) {
                            Text("\(Lang.current.pick(r.routeNameZh, r.routeNameEn)) · \(r.visited)/\(r.total)").font(.headline)
                            Text(Formats.dayClock(r.startedMs, offsetMinutes: service.offset(of: r.siteId))
                                 + (r.finishedMs.map { " – " + Formats.clock($0, offsetMinutes: service.offset(of: r.siteId)) } ?? ""))
                                .font(.caption)
                        }
                    }
                }
                if !model.rejections.isEmpty {
                    Section(header: Text("sync.rejections")) {
                        ForEach(model.rejections, id: \.recordId) { r in Text(Lang.current == .en ? r.reason : r.reasonZh).foregroundColor(.red) }
                    }
                }
            }
            .navigationTitle(Text("tab.history"))
            .onAppear { model.refresh() }
            .onChange(of: service.revision) { _ in model.refresh() }
        }
    }
}
