// Staff fault notices (员工过失通知单): the person's month (notices, points after appeals,
// appeals open) and their notices, newest first; one notice with sign for, refuse and
// appeal; for supervisors and department heads, those they issued and the form to issue
// one offline. State in FaultsModel (PatrolKit), as Android's FaultsScreen.
import PatrolKit
import PhotosUI
import SwiftUI

/// A fault notice pushed on the tab's stack (its own type: the notices' stack pushes Strings).
struct FaultRef: Hashable { let id: String }

/// 待签收 / 已签收 / 已拒签, then the appeal's state, or 已作废.
func faultStatus(_ f: FaultView) -> String {
    func t(_ key: String) -> String { NSLocalizedString(key, comment: "") }
    if f.voided { return t("fault.voided") }
    let receipt: String
    switch f.receipt {
    case "signed": receipt = t("fault.receipt.signed")
    case "refused": receipt = t("fault.receipt.refused")
    default: receipt = t("fault.receipt.pending")
    }
    guard let appeal = f.appeal else { return receipt }
    switch appeal {
    case "open": return "\(receipt) · \(t("fault.appeal.open"))"
    case "upheld": return "\(receipt) · \(t("fault.appeal.upheld"))"
    case "reduced": return "\(receipt) · \(t("fault.appeal.reduced"))"
    case "cancelled": return "\(receipt) · \(t("fault.appeal.cancelled"))"
    default: return "\(receipt) · \(appeal)"
    }
}

func faultPoints(_ n: UInt32) -> String { String(format: NSLocalizedString("fault.points %lld", comment: ""), Int(n)) }

struct FaultsView: View {
    @EnvironmentObject var app: AppModel
    var body: some View { Content(model: app.faults, service: app.service) }

    private struct Content: View {
        @ObservedObject var model: FaultsModel
        @ObservedObject var service: PatrolService
        @State private var issuing = false

        var body: some View {
            List {
                FailureBanner(failure: model.failure) { model.failure = nil }
                HStack {
                    Button { model.previousMonth() } label: { Image(systemName: "chevron.left") }.buttonStyle(.borderless)
                    Spacer()
                    Text(model.month).font(.headline)
                    Spacer()
                    Button { model.nextMonth() } label: { Image(systemName: "chevron.right") }.buttonStyle(.borderless)
                }
                if let s = model.summary {
                    HStack {
                        Text(String(format: NSLocalizedString("fault.month.notices %lld", comment: ""), Int(s.notices)))
                        Spacer()
                        Text(String(format: NSLocalizedString("fault.month.points %lld", comment: ""), Int(s.points)))
                        Spacer()
                        Text(String(format: NSLocalizedString("fault.month.appeals %lld", comment: ""), Int(s.openAppeals)))
                    }
                    .font(.subheadline)
                }
                Section(header: Text("fault.mine")) {
                    if model.mine.isEmpty { Text("fault.empty") }
                    ForEach(model.mine, id: \.id) { f in row(f, showPerson: false) }
                }
                if model.canIssue {
                    Section(header: Text("fault.issued")) {
                        if model.issued.isEmpty { Text("fault.empty") }
                        ForEach(model.issued, id: \.id) { f in row(f, showPerson: true) }
                    }
                }
            }
            .navigationTitle(Text("tab.faults"))
            .navigationDestination(for: FaultRef.self) { FaultDetailView(faultId: $0.id) }
            .toolbar {
                if model.canIssue {
                    Button { model.openForm(); issuing = true } label: { Image(systemName: "plus") }
                }
            }
            .sheet(isPresented: $issuing) { NavigationStack { FaultFormView(done: { issuing = false }) } }
            .refreshable { [model] in await model.refresh() }
            .task { [model] in await model.refresh() }
            .onChange(of: service.revision) { _ in Task { [model] in await model.refresh() } }
        }

        private func row(_ f: FaultView, showPerson: Bool) -> some View {
            NavigationLink(value: FaultRef(id: f.id)) {
                VStack(alignment: .leading, spacing: 4) {
                    HStack {
                        Text(f.number).font(.headline)
                        Spacer()
                        Text(faultPoints(f.pointsNow)).foregroundColor(f.pointsNow > 0 ? .red : .primary)
                    }
                    Text("\(f.ruleCode) \(f.ruleName(Lang.current))").lineLimit(2)
                    HStack {
                        Text((showPerson ? "\(f.personName) · " : "") + (f.location.isEmpty ? f.seen : f.location)).font(.caption).lineLimit(1)
                        Spacer()
                        Text(Formats.dayClock(f.seenMs, offsetMinutes: service.offset(of: f.siteId))).font(.caption)
                    }
                    Text(faultStatus(f)).font(.caption2).foregroundColor(f.voided ? .red : .accentColor)
                }
            }
        }
    }
}

private enum FaultPending: Identifiable {
    case refuse, appeal
    var id: Self { self }
}

struct FaultDetailView: View {
    let faultId: String
    @EnvironmentObject var app: AppModel
    var body: some View { Content(faultId: faultId, model: app.faults, service: app.service) }

    private struct Content: View {
        let faultId: String
        @ObservedObject var model: FaultsModel
        let service: PatrolService
        @State private var pending: FaultPending?
        @State private var text = ""

        /// When, who, what (with the points left after a reduction), why.
        private func eventLine(_ e: FaultEvent, offset: Int32) -> String {
            var line = "\(Formats.dayClock(e.atMs, offsetMinutes: offset)) \(e.actorName) \(e.action)"
            if let p = e.points { line += " → " + faultPoints(p) }
            if !e.reason.isEmpty { line += " " + e.reason }
            return line
        }

        var body: some View {
            List {
                FailureBanner(failure: model.failure) { model.failure = nil }
                if let f = model.selected, f.id == faultId {
                    let offset = service.offset(of: f.siteId)
                    let me = model.me?.personId
                    Section {
                        Text("fault.title").font(.caption)
                        Text(f.number).font(.title2)
                        Text(faultStatus(f)).foregroundColor(f.voided ? .red : .accentColor)
                        Text("\(f.ruleCode) \(f.ruleName(Lang.current))").font(.headline)
                        if f.pointsNow != f.points {
                            Text(String(format: NSLocalizedString("fault.pointsChanged %lld %lld", comment: ""), Int(f.points), Int(f.pointsNow))).foregroundColor(.red)
                        } else {
                            Text(faultPoints(f.points)).foregroundColor(.red)
                        }
                        Text(String(format: NSLocalizedString("fault.person %@", comment: ""), f.personName))
                        if let s = f.superiorName { Text(String(format: NSLocalizedString("fault.superior %@", comment: ""), s)) }
                        Text(String(format: NSLocalizedString("fault.issuer %@", comment: ""), f.issuerName))
                        Text(String(format: NSLocalizedString("fault.seenAt %@", comment: ""), Formats.dayClock(f.seenMs, offsetMinutes: offset)))
                        if !f.location.isEmpty { Text(String(format: NSLocalizedString("fault.where %@", comment: ""), f.location)) }
                        Text(f.seen)
                        Thumbnails(shas: f.photos)
                    }
                    // Only the person named answers: sign for or refuse once, appeal once.
                    if f.canAnswer(me) || f.canAppeal(me) {
                        Section {
                            if f.canAnswer(me) {
                                Button("fault.sign") { model.signFor() }.disabled(model.busy)
                                Button("fault.refuse") { pending = .refuse }.disabled(model.busy)
                            }
                            if f.canAppeal(me) {
                                Button("fault.appeal") { pending = .appeal }.disabled(model.busy)
                                Text("fault.appealHint").font(.caption)
                            }
                        }
                    }
                    Section(header: Text("notice.timeline")) {
                        ForEach(Array(f.events.enumerated()), id: \.offset) { _, e in
                            VStack(alignment: .leading) {
                                Text(verbatim: eventLine(e, offset: offset))
                                if let r = e.refusal { Text(r).foregroundColor(.red).font(.caption) }
                            }
                        }
                    }
                }
            }
            .onAppear { model.open(faultId) }
            .sheet(item: $pending) { p in
                NavigationStack {
                    Form {
                        TextField(LocalizedStringKey(p == .appeal ? "fault.appealReason" : "fault.refuseReason"), text: $text, axis: .vertical).lineLimit(2...6)
                    }
                    .toolbar {
                        Button("confirm") {
                            switch p {
                            case .refuse: model.refuse(reason: text)
                            case .appeal: model.appeal(reason: text)
                            }
                            text = ""
                            pending = nil
                        }
                        .disabled(p == .appeal && text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty)
                    }
                }
            }
        }
    }
}

struct FaultFormView: View {
    let done: () -> Void
    @EnvironmentObject var app: AppModel
    var body: some View { Content(model: app.faults, done: done) }

    private struct Content: View {
        @ObservedObject var model: FaultsModel
        let done: () -> Void
        @State private var camera = false
        @State private var cameraRefused = false
        @State private var library: PhotosPickerItem?
        @State private var marking: PhotoRef?
        @State private var personIdText = ""

        var body: some View {
            Form {
                FailureBanner(failure: model.failure) { model.failure = nil }
                if model.sites.count > 1 {
                    Picker("fault.site", selection: $model.siteId) {
                        ForEach(model.sites, id: \.id) { s in Text(Lang.current.pick(s.nameZh, s.nameEn)).tag(String?.some(s.id)) }
                    }
                }
                Picker("fault.rule", selection: $model.ruleId) {
                    Text("—").tag(String?.none)
                    ForEach(model.rules, id: \.id) { r in
                        Text("\(r.code) \(Lang.current.pick(r.nameZh, r.nameEn)) · \(faultPoints(r.points))").tag(String?.some(r.id))
                    }
                }
                if model.rules.isEmpty { Text("fault.noRules").font(.caption) }
                if let p = model.pointsShown {
                    Stepper(value: Binding(get: { Int(p) }, set: { model.points = UInt32($0) }), in: 1...100) { Text(faultPoints(p)) }
                }
                Section(header: Text("fault.personPick")) {
                    if model.people.isEmpty { Text("fault.peopleHint").font(.caption) }
                    Picker("fault.personPick", selection: Binding(get: { model.personId }, set: { id in
                        if let p = model.people.first(where: { $0.personId == id }) { model.choose(p); personIdText = "" }
                    })) {
                        Text("—").tag(String?.none)
                        ForEach(model.people) { p in Text(p.name).tag(String?.some(p.personId)) }
                    }
                    // Someone not on this phone's notices yet: their id.
                    TextField("fault.personId", text: $personIdText)
                        .textInputAutocapitalization(.never)
                        .autocorrectionDisabled()
                        .onChange(of: personIdText) { v in
                            let id = v.trimmingCharacters(in: .whitespaces)
                            if !id.isEmpty { model.personId = id; model.personName = "" }
                        }
                }
                TextField("notice.location", text: $model.location)
                TextField("fault.seen", text: $model.seen, axis: .vertical).lineLimit(3...8)
                Section {
                    Thumbnails(shas: model.photos) { marking = PhotoRef(id: $0) }
                    Button("photo.take") { openCamera() }
                    PhotosPicker(selection: $library, matching: .images) { Text("photo.library") }
                }
                Button("notice.submit") { model.submit() }.disabled(model.busy)
                Text("notice.pendingHint").font(.caption)
            }
            .navigationTitle(Text("fault.newTitle"))
            .sheet(isPresented: $camera) { CameraPicker { model.addPhoto($0, fix: nil) } }
            .sheet(item: $marking) { p in MarkupView(service: model.service, sha256: p.id) { marking = nil } }
            .cameraRefusedAlert(isPresented: $cameraRefused)
            .onChange(of: library) { item in
                Task {
                    if let data = try? await item?.loadTransferable(type: Data.self) { model.addPhoto(data, fix: nil) }
                    library = nil
                }
            }
            .onChange(of: model.issuedId) { id in if id != nil { done() } }
        }

        /// The camera once it may be used, else why it cannot be.
        private func openCamera() {
            Task { @MainActor in
                if await CameraAccess.allowed() { camera = true } else { cameraRefused = true }
            }
        }
    }
}
