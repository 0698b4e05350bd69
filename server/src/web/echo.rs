//! A refused form comes back filled in: the page that held the form is rendered again
//! with what was typed and the reason beside the field it is about (or above the
//! button when no field of the form has that name). `error::render_errors` sets the
//! echo for the time the page is rendered; the form helpers of `layout` read it.

use std::cell::{Cell, RefCell};

use maud::{Markup, html};

/// A form of a page: its action and, when several forms post to the same action, the
/// hidden field (name, value) that tells them apart.
type FormKey = (String, Option<(String, String)>);

/// What the refused form held and why it was refused.
pub struct Echo {
    /// The path the form was posted to (its `action`).
    pub action: String,
    /// The fields as typed; never passwords or the CSRF token.
    pub fields: Vec<(String, String)>,
    /// The field the refusal is about, if any.
    pub field: Option<String>,
    /// The reason alone, for beside the field.
    pub reason: String,
    /// The reason with the field named, for above the button.
    pub whole: String,
    /// The form being rendered now: its action and, when several forms post to the
    /// same action, the hidden field that tells them apart.
    current: RefCell<Option<FormKey>>,
    /// Whether the reason was shown beside a field of the form.
    placed: Cell<bool>,
    /// Whether the page showed the reason at all (a form without `echo::form` would
    /// come back silent: then the refusal is a page of its own).
    shown: Cell<bool>,
}

tokio::task_local! {
    static ECHO: Echo;
}

impl Echo {
    pub fn new(
        action: String,
        fields: Vec<(String, String)>,
        field: Option<String>,
        reason: String,
        whole: String,
    ) -> Echo {
        Echo {
            action,
            fields,
            field,
            reason,
            whole,
            current: RefCell::new(None),
            placed: Cell::new(false),
            shown: Cell::new(false),
        }
    }

    /// Runs `f` (the page's handler) with this echo in scope; also says whether the
    /// page it rendered showed the reason.
    pub async fn scope<F: std::future::Future>(self, f: F) -> (F::Output, bool) {
        ECHO.scope(self, async {
            let out = f.await;
            (out, ECHO.with(|e| e.shown.get()))
        })
        .await
    }

    fn value(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// Whether the form being rendered is the one that was refused.
    fn is_current(&self) -> bool {
        match &*self.current.borrow() {
            Some((action, which)) => {
                action == &self.action
                    && which.as_ref().is_none_or(|(name, value)| self.value(name) == Some(value.as_str()))
            }
            None => false,
        }
    }
}

/// Secrets are never sent back into a page.
pub fn may_echo(name: &str) -> bool {
    !(name.starts_with('_') || name.contains("password"))
}

/// Whether an error about `field` belongs beside the input named `input`
/// (`roles.site_id` beside `site_id`, `windows.runs` beside `windows`).
fn is_about(field: &str, input: &str) -> bool {
    field == input
        || field.strip_suffix(input).is_some_and(|rest| rest.ends_with('.'))
        || field.strip_prefix(input).is_some_and(|rest| rest.starts_with('.') || rest.starts_with('['))
}

fn with<T>(f: impl FnOnce(&Echo) -> Option<T>) -> Option<T> {
    ECHO.try_with(|e| if e.is_current() { f(e) } else { None }).ok().flatten()
}

/// What was typed into `name`, when the form being rendered was refused.
pub fn typed(name: &str) -> Option<String> {
    with(|e| e.value(name).map(str::to_string))
}

/// Whether the option `value` of the select `name` was the one chosen, when the form
/// being rendered was refused (`None`: render the page's own choice).
pub fn chosen(name: &str, value: &str) -> Option<bool> {
    with(|e| e.value(name).map(|v| v == value))
}

/// Whether the checkbox `name` with `value` was ticked, when the form being rendered
/// was refused (`None`: render the page's own default).
pub fn ticked(name: &str, value: &str) -> Option<bool> {
    with(|e| Some(e.fields.iter().any(|(k, v)| k == name && v == value)))
}

/// The reason, when it is about the input `name` of the form being rendered; it is
/// then not repeated above the button.
pub fn error_for(name: &str) -> Option<String> {
    with(|e| {
        let about = e.field.as_deref().is_some_and(|f| is_about(f, name));
        about.then(|| {
            e.placed.set(true);
            e.shown.set(true);
            e.reason.clone()
        })
    })
}

/// The id of the error text beside an input, for `aria-describedby`.
pub fn error_id(name: &str) -> String {
    format!("error-{}", name.replace(|c: char| !c.is_ascii_alphanumeric(), "-"))
}

/// Renders a form's fields with the echo of that form (if it was the refused one),
/// then the reason above its button when no field took it. `which` tells apart
/// forms posting to the same action by a hidden field's value.
pub fn form(action: &str, which: Option<(&str, &str)>, fields: impl FnOnce() -> Markup) -> Markup {
    let set = ECHO
        .try_with(|e| {
            *e.current.borrow_mut() = Some((action.to_string(), which.map(|(n, v)| (n.to_string(), v.to_string()))));
            e.placed.set(false);
        })
        .is_ok();
    let inner = fields();
    let unplaced = with(|e| {
        (!e.placed.get()).then(|| {
            e.shown.set(true);
            e.whole.clone()
        })
    });
    if set {
        let _ = ECHO.try_with(|e| *e.current.borrow_mut() = None);
    }
    html! {
        (inner)
        @if let Some(text) = unplaced { p.error.form-error role="alert" { (text) } }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_goes_beside_the_input_it_is_about() {
        assert!(is_about("site_id", "site_id"));
        assert!(is_about("roles.site_id", "site_id"));
        assert!(is_about("windows.runs", "windows"));
        assert!(is_about("checklist.text_zh", "checklist"));
        assert!(!is_about("name_zh", "name"));
        assert!(!is_about("name", "name_zh"));
        assert!(!may_echo("new_password") && !may_echo("_csrf") && may_echo("name_zh"));
    }

    #[tokio::test]
    async fn only_the_refused_form_is_filled_in() {
        let echo = Echo::new(
            "/admin/sites".into(),
            vec![("code".into(), "jy".into()), ("name_zh".into(), "锦园".into())],
            Some("code".into()),
            "须为 1 至 8 位大写字母或数字".into(),
            "code（编号）：须为 1 至 8 位大写字母或数字".into(),
        );
        let (_, shown) = echo
            .scope(async {
                let other = form("/admin/people", None, || html! { (typed("code").unwrap_or_default()) });
                assert_eq!(other.into_string(), "");
                let refused = form("/admin/sites", None, || {
                    assert_eq!(error_for("code").as_deref(), Some("须为 1 至 8 位大写字母或数字"));
                    html! { (typed("name_zh").unwrap_or_default()) }
                });
                assert_eq!(
                    refused.into_string(),
                    "锦园",
                    "the reason sits beside the field, not again above the button"
                );
                let unplaced = form("/admin/sites", None, || html! {});
                assert!(unplaced.into_string().contains("code（编号）"), "no field took it: above the button");
            })
            .await;
        assert!(shown, "the page showed the reason");
        let (_, shown) = Echo::new("/x".into(), vec![], None, "r".into(), "r".into()).scope(async {}).await;
        assert!(!shown, "a page without the refused form did not");
        assert_eq!(typed("code"), None, "outside the echo nothing is filled in");
    }
}
