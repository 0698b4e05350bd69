// Today's patrols: each planned run with its window (site time) and status; start or resume.
import PatrolKit
import SwiftUI

struct TodayView: View {
    @EnvironmentObject var app: AppModel
    var body: some View { Content(model: app.today, service: app.service) }

    private struct Content: View {
        @ObservedObject var model: TodayModel
        @ObservedObject var service: PatrolService
        @State private var open: String?

        var body: some View {
            List {
                FailureBanner(failure: model.failure) { model.failure = nil }
                if model.plan.isEmpty && !model.busy { Text("today.empty") }
                ForEach(model.plan) { line in
                    HStack {
                        VStack(alignment: .leading, spacing: 4) {
                            Text(Lang.current.pick(line.planned.routeNameZh, line.planned.routeNameEn)).font(.headline)
                            Text(line.planned.siteNameZh).font(.caption)
                            Text(String(format: NSLocalizedString("today.window %@", comment: ""), line.window))
                            Text(statusKey(line.planned.status)).foregroundColor(statusColor(line.planned.status))
                        }
                        Spacer()
                        if line.canResume {
                            Button("run.resume") { model.startOrResume(line) }.buttonStyle(.borderedProminent)
                        } else if line.canStart {
                            Button("run.start") { model.startOrResume(line) }.buttonStyle(.borderedProminent)
                        }
                    }
                }
            }
            .navigationTitle(Text("tab.today"))
            // refresh() is async: pull to refresh awaits it (its spinner stays until the
            // list is reloaded); elsewhere it runs in a task.
            .refreshable { [model] in await model.refresh() }
            .task { [model] in await model.refresh() }
            .onChange(of: service.revision) { _ in Task { [model] in await model.refresh() } }
            .onChange(of: model.openRun) { id in if let id { open = id; model.openRun = nil } }
            .navigationDestination(item: $open) { RunView(runId: $0) }
        }

        private func statusKey(_ s: PlanStatus) -> LocalizedStringKey {
            switch s {
            case .done: return "status.done"
            case .inProgress: return "status.inProgress"
            case .pending: return "status.pending"
            case .missed: return "status.missed"
            }
        }
        private func statusColor(_ s: PlanStatus) -> Color {
            switch s {
            case .done: return .green
            case .missed: return .red
            default: return .accentColor
            }
        }
    }
}
