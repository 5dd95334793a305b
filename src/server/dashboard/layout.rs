//! The frame every page shares (head, navigation, headers) and error pages.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use super::Viewer;
use crate::engine::Error;
use crate::problem::Problem;

/// The sections of a program, in the navigation's order: (path under the
/// program, label).
const SECTIONS: [(&str, &str); 8] = [
    ("", "Overview"),
    ("/partners", "Partners"),
    ("/ledger", "Ledger"),
    ("/payouts", "Payouts"),
    ("/transactions", "Waiting"),
    ("/products", "Products"),
    ("/history", "Config history"),
    ("/deliveries", "Webhooks"),
];

/// Pages are private, framed by nobody, and load only their own stylesheet.
fn secure_headers(r: &mut Response) {
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
}

fn document(title: &str, nav: Option<Markup>, signed_in: bool, body: &Markup) -> Response {
    let markup = html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · partnerops" }
                link rel="stylesheet" href="/assets/style.css";
            }
            body {
                a .skip href="#main" { "Skip to content" }
                header .top {
                    span .brand { "partnerops" }
                    @if let Some(nav) = nav { (nav) }
                    @if signed_in {
                        form method="post" action="/logout" .logout {
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" { (body) }
            }
        }
    };
    let mut r = axum::response::Html(markup.into_string()).into_response();
    secure_headers(&mut r);
    r
}

/// A page of a program, with the program's navigation (a partner sees only
/// their portal).
pub fn page(viewer: &Viewer, program: &str, current: &str, title: &str, body: &Markup) -> Response {
    let base = format!("/programs/{}", super::seg(program));
    let nav = html! {
        nav aria-label="Sections" {
            ul {
                @if viewer.reads_data() {
                    @for (path, label) in SECTIONS {
                        li {
                            @if path == current {
                                a href={ (base) (path) } aria-current="page" { (label) }
                            } @else {
                                a href={ (base) (path) } { (label) }
                            }
                        }
                    }
                } @else if viewer.partner().is_some() {
                    li { a href={ (base) "/portal" } aria-current="page" { "My portal" } }
                }
            }
        }
    };
    document(&format!("{title} · {program}"), Some(nav), true, body)
}

/// A page outside any program (sign-in, the program list).
pub fn bare(title: &str, signed_in: bool, body: &Markup) -> Response {
    document(title, None, signed_in, body)
}

/// An error shown as a page, with the status the JSON API would answer.
#[derive(Debug)]
pub struct PageError(pub Error);

impl PageError {
    pub fn bad_request(detail: String) -> PageError {
        PageError(Error::BadRequest(detail))
    }
}

impl From<Error> for PageError {
    fn from(e: Error) -> PageError {
        PageError(e)
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let problem = Problem::from(&self.0);
        let status =
            StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = html! {
            h1 { (problem.title) }
            p .error role="alert" { (problem.detail) }
            p { a href="/" { "Back to the start" } }
        };
        let mut r = bare(&problem.title, status != StatusCode::UNAUTHORIZED, &body);
        *r.status_mut() = status;
        if let Some(seconds) = problem.retry_after {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        r
    }
}
