//! The one place that decides who may see and do what, from role, site and
//! department. Handlers ask here; they never test roles themselves.

use patrol_protocol::{Id, Person, Role, Site};

use crate::error::{DomainError, DomainResult};
use crate::store::Value;

/// The signed-in person making a request, with every role they hold.
#[derive(Debug, Clone)]
pub struct Actor {
    pub person: Person,
    pub roles: Vec<Role>,
    pub device_id: Id,
    /// The sites of the person's organisation: organisation-wide roles reach these and
    /// no others, whatever id a request names.
    pub org_sites: Vec<Id>,
}

/// What is being asked for.
#[derive(Debug, Clone, Copy)]
pub enum Access<'a> {
    /// Set up or change the organisation's reference data, people and roles.
    Administer,
    /// Read a site's reference data (departments, checkpoints, routes, schedules).
    ReadSite(&'a Site),
    /// Read the organisation's people and their roles.
    ReadPeople,
    /// Audit a site's patrols and decide on its waivers (its supervisors).
    Supervise(&'a Site),
    /// Hold checkpoints' QR secrets, to print labels (administrators only: nobody who
    /// walks patrols may be able to make a valid code).
    PrintLabels,
}

impl Actor {
    pub fn is_admin(&self) -> bool {
        self.roles.contains(&Role::Administrator)
    }

    /// Sees every site of the organisation.
    pub fn is_org_wide(&self) -> bool {
        self.roles.iter().any(|r| matches!(r, Role::Administrator | Role::OrgSupervisor))
    }

    pub fn is_supervisor_of(&self, site_id: Id) -> bool {
        self.roles.iter().any(|r| match r {
            Role::OrgSupervisor => self.org_sites.contains(&site_id),
            Role::SiteSupervisor { site_id: s } => *s == site_id,
            _ => false,
        })
    }

    /// Supervises at least one site (of a site, or of the whole organisation).
    pub fn supervises_somewhere(&self) -> bool {
        self.roles.iter().any(|r| matches!(r, Role::OrgSupervisor | Role::SiteSupervisor { .. }))
    }

    /// Departments this person heads at `site_id`.
    pub fn headed_departments(&self, site_id: Id) -> Vec<Id> {
        self.roles
            .iter()
            .filter_map(|r| match r {
                Role::DepartmentHead { site_id: s, department_id } if *s == site_id => Some(*department_id),
                _ => None,
            })
            .collect()
    }

    pub fn may(&self, access: Access<'_>) -> bool {
        match access {
            Access::Administer | Access::PrintLabels => self.is_admin(),
            Access::ReadSite(site) => {
                site.org_id == self.person.org_id
                    && (self.is_org_wide() || self.roles.iter().any(|r| r.site_id() == Some(site.id)))
            }
            Access::Supervise(site) => site.org_id == self.person.org_id && self.is_supervisor_of(site.id),
            Access::ReadPeople => {
                self.is_org_wide() || self.roles.iter().any(|r| matches!(r, Role::SiteSupervisor { .. }))
            }
        }
    }

    /// May this person see a notice of `site_id` (of organisation `site_org`) addressed
    /// to `department_id` and raised by `issuer_id`? The issuer, the heads of that
    /// department at that site, and the site's supervisors. Every path that shows a
    /// notice or anything it holds (pages, pull, photos, exports, PDFs) asks here.
    pub fn may_view_notice(&self, site_org: Id, site_id: Id, department_id: Id, issuer_id: Id) -> bool {
        site_org == self.person.org_id
            && (issuer_id == self.person.id
                || self.headed_departments(site_id).contains(&department_id)
                || self.is_supervisor_of(site_id))
    }

    /// Does this person supervise the whole organisation (every notice of it is theirs
    /// to see)?
    pub fn supervises_org(&self) -> bool {
        self.roles.iter().any(|r| matches!(r, Role::OrgSupervisor))
    }

    /// `may_view_notice` as an SQL condition on `notices n`, for lists that must filter
    /// in the database (a list that loads a page and filters it in memory loses rows
    /// silently). The parameters are numbered from `$first`; the condition and its
    /// values are returned together. The same rule, term by term: the notice's site is
    /// one of the person's organisation, and they raised it, or head its department at
    /// its site, or supervise its site (an organisation supervisor every site of it).
    pub fn notice_scope_sql(&self, first: usize) -> (String, Vec<Value>) {
        let mut args: Vec<Value> = Vec::new();
        let mut arg = |v: Value| {
            args.push(v);
            format!("${}", first + args.len() - 1)
        };
        let org = arg(self.person.org_id.into());
        let in_org = format!("n.site_id IN (SELECT s.id FROM sites s WHERE s.org_id = {org})");
        // An organisation's supervisor sees every notice of it: the first term alone, no
        // OR for the planner to weigh (it would read every notice to answer it).
        if self.supervises_org() {
            return (in_org, args);
        }
        let mut any = vec![format!("n.issuer_id = {}", arg(self.person.id.into()))];
        for r in &self.roles {
            match r {
                Role::DepartmentHead { site_id, department_id } => {
                    let (s, d) = (arg((*site_id).into()), arg((*department_id).into()));
                    any.push(format!("(n.site_id = {s} AND n.department_id = {d})"));
                }
                Role::SiteSupervisor { site_id } => any.push(format!("n.site_id = {}", arg((*site_id).into()))),
                Role::OrgSupervisor | Role::PatrolStaff { .. } | Role::DepartmentStaff { .. } | Role::Administrator => {
                }
            }
        }
        let sql = format!("{in_org} AND ({})", any.join(" OR "));
        (sql, args)
    }

    /// May this person see a patrol run of `site_id` walked by `walker`? The walker
    /// and the site's supervisors.
    pub fn may_view_run(&self, site_id: Id, walker: Id) -> bool {
        (walker == self.person.id && self.org_sites.contains(&site_id)) || self.is_supervisor_of(site_id)
    }

    pub fn require(&self, access: Access<'_>) -> DomainResult<()> {
        if self.may(access) { Ok(()) } else { Err(DomainError::forbidden()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site(org: Id) -> Site {
        Site {
            id: Id::now_v7(),
            org_id: org,
            code: "A".into(),
            name_zh: "甲".into(),
            name_en: "A".into(),
            utc_offset_minutes: 480,
        }
    }

    fn actor(org: Id, roles: Vec<Role>) -> Actor {
        let person =
            Person { id: Id::now_v7(), org_id: org, login: "x".into(), display_name: "x".into(), active: true };
        Actor { person, roles, device_id: Id::nil(), org_sites: vec![] }
    }

    #[test]
    fn a_head_of_cleaning_at_site_a_reads_site_a_only() {
        let org = Id::now_v7();
        let (a, b) = (site(org), site(org));
        let head = actor(org, vec![Role::DepartmentHead { site_id: a.id, department_id: Id::now_v7() }]);
        assert!(head.may(Access::ReadSite(&a)));
        assert!(!head.may(Access::ReadSite(&b)));
        assert!(!head.may(Access::Administer));
        assert!(!head.may(Access::ReadPeople));
    }

    #[test]
    fn an_organisation_supervisor_supervises_only_the_organisations_sites() {
        let org = Id::now_v7();
        let (ours, theirs) = (site(org), site(Id::now_v7()));
        let mut manager = actor(org, vec![Role::OrgSupervisor]);
        manager.org_sites = vec![ours.id];
        assert!(manager.is_supervisor_of(ours.id));
        assert!(!manager.is_supervisor_of(theirs.id));
    }

    #[test]
    fn nobody_reads_another_organisations_sites() {
        let theirs = site(Id::now_v7());
        let admin = actor(Id::now_v7(), vec![Role::Administrator, Role::OrgSupervisor]);
        assert!(!admin.may(Access::ReadSite(&theirs)));
    }
}
