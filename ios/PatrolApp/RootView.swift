// Sign-in, or the five tabs: today, notices, fault notices, sync, history.
import PatrolKit
import SwiftUI

struct RootView: View {
    @EnvironmentObject var app: AppModel

    var body: some View {
        Content(session: app.session)
            // A notice opened from its message link, over whichever tab is showing.
            .sheet(item: Binding(get: { app.session.person == nil ? nil : app.linkedNotice.map(LinkedNotice.init) }, set: { app.linkedNotice = $0?.id })) { n in
                NavigationStack { NoticeDetailView(noticeId: n.id) }.environmentObject(app)
            }
    }

    private struct LinkedNotice: Identifiable { let id: String }

    private struct Content: View {
        @ObservedObject var session: SessionModel
        var body: some View {
            if session.person == nil {
                SignInView(model: session)
            } else {
                TabView {
                    NavigationStack { TodayView() }.tabItem { Label("tab.today", systemImage: "calendar") }
                    NavigationStack { InboxView() }.tabItem { Label("tab.notices", systemImage: "bell") }
                    NavigationStack { FaultsView() }.tabItem { Label("tab.faults", systemImage: "exclamationmark.triangle") }
                    NavigationStack { SyncView() }.tabItem { Label("tab.sync", systemImage: "arrow.triangle.2.circlepath") }
                    NavigationStack { HistoryView() }.tabItem { Label("tab.history", systemImage: "clock") }
                }
            }
        }
    }
}

/// Shows the screen's failure in the person's language.
struct FailureBanner: View {
    let failure: PatrolFailure?
    let dismiss: () -> Void
    var body: some View {
        if let f = failure {
            HStack {
                Text(f.text(Lang.current)).foregroundColor(.white)
                Spacer()
                Button("dismiss", action: dismiss).foregroundColor(.white)
            }
            .padding(10)
            .background(Color.red.opacity(0.85))
        }
    }
}
