//! Signing in and out. The login form is protected by a double-submit CSRF cookie (there
//! is no session yet); repeated failures slow the failing client down, on one account and
//! on all of them (see `muster_core::login_delay`).

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::header;
use actix_web::web::{Data, Form};
use actix_web::{HttpRequest, HttpResponse, get, post};
use muster_core::login_delay::LoginDelay;
use muster_store::tokens::random_token;
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::client_address::client_address;
use crate::console::auth::{ConsoleUser, SESSION_COOKIE, constant_time_eq};
use crate::console::page::render_with_status;
use crate::error::{WebError, WebResult};
use crate::state::AppState;

const LOGIN_CSRF_COOKIE: &str = "muster_login_csrf";
/// The wait after the first failure beyond the free ones; it doubles with each further one.
const FIRST_DELAY: time::Duration = time::Duration::seconds(15);

fn cookie<'a>(state: &AppState, name: &'a str, value: String) -> Cookie<'a> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(state.secure_cookies())
        .same_site(SameSite::Lax)
        .finish()
}

/// The sign-in page: no one is signed in yet, so the layout shows no menu.
#[derive(Serialize)]
struct LoginPage<'a> {
    title: &'static str,
    csrf: &'a str,
    email: &'a str,
    error: Option<&'a str>,
    user: Option<()>,
}

fn login_page(
    state: &AppState,
    email: &str,
    error: Option<&str>,
    status: actix_web::http::StatusCode,
) -> WebResult<HttpResponse> {
    let csrf = random_token();
    let mut response = render_with_status(
        state,
        "console_login",
        &LoginPage {
            title: "Sign in",
            csrf: &csrf,
            email,
            error,
            user: None,
        },
        status,
    )?;
    let mut login_cookie = cookie(state, LOGIN_CSRF_COOKIE, csrf);
    login_cookie.set_path("/console/login");
    response
        .add_cookie(&login_cookie)
        .map_err(|e| WebError::Internal(e.to_string()))?;
    Ok(response)
}

#[get("/console/login")]
pub async fn login_form(state: Data<AppState>) -> WebResult<HttpResponse> {
    login_page(&state, "", None, actix_web::http::StatusCode::OK)
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    csrf: String,
}

#[post("/console/login")]
pub async fn login(
    state: Data<AppState>,
    req: HttpRequest,
    form: Form<LoginForm>,
) -> WebResult<HttpResponse> {
    let expected = req
        .cookie(LOGIN_CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(&expected, &form.csrf) {
        return Err(WebError::CsrfRejected);
    }
    let address = client_address(&req)
        .map(|a| a.to_string())
        .unwrap_or_default();
    let config = &state.config;
    let failures = state
        .store
        .recent_failed_logins(&form.email, &address, config.login_window)
        .await?;
    let per_account = LoginDelay {
        free: config.login_max_failures,
        first: FIRST_DELAY,
        cap: config.login_window,
    };
    // An address may try several accounts (a shared office), but not endlessly.
    let per_client = LoginDelay {
        free: config.login_max_failures * 4,
        ..per_account
    };
    let now = time::OffsetDateTime::now_utc();
    let wait = per_account
        .remaining(failures.on_account, now)
        .max(per_client.remaining(failures.on_any, now));
    if wait > time::Duration::ZERO {
        tracing::warn!("login throttled");
        let seconds = ((wait.whole_milliseconds() + 999) / 1000).max(1);
        let message =
            format!("Too many failed sign-ins from your address. Try again in {seconds} seconds.");
        let mut response = login_page(
            &state,
            &form.email,
            Some(&message),
            actix_web::http::StatusCode::TOO_MANY_REQUESTS,
        )?;
        if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        return Ok(response);
    }
    let Some(user) = state
        .store
        .authenticate(&form.email, &form.password)
        .await?
    else {
        state
            .store
            .record_failed_login(&form.email, &address)
            .await?;
        return login_page(
            &state,
            &form.email,
            Some("That email and password do not match an account."),
            actix_web::http::StatusCode::UNAUTHORIZED,
        );
    };
    state
        .store
        .clear_failed_logins(&user.email, &address)
        .await?;
    // Any session token the browser held before is ignored: a fresh one is issued.
    let token = state
        .store
        .create_session(user.id, config.session_lifetime)
        .await?;
    state
        .store
        .audit(
            &format!("user:{}", user.email),
            "session.login",
            &user.email,
            json!({}),
        )
        .await?;
    let mut session = cookie(&state, SESSION_COOKIE, token);
    session.set_max_age(CookieDuration::seconds(
        config.session_lifetime.whole_seconds(),
    ));
    let mut expired_login_cookie = cookie(&state, LOGIN_CSRF_COOKIE, String::new());
    expired_login_cookie.set_path("/console/login");
    expired_login_cookie.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console"))
        .cookie(session)
        .cookie(expired_login_cookie)
        .finish())
}

#[derive(Debug, Deserialize)]
pub struct CsrfOnly {
    csrf: String,
}

#[post("/console/logout")]
pub async fn logout(
    state: Data<AppState>,
    user: ConsoleUser,
    req: HttpRequest,
    form: Form<CsrfOnly>,
) -> WebResult<HttpResponse> {
    user.check_csrf(&form.csrf)?;
    if let Some(token) = req.cookie(SESSION_COOKIE) {
        state.store.delete_session(token.value()).await?;
    }
    state
        .store
        .audit(
            &user.actor().label,
            "session.logout",
            &user.user.email,
            json!({}),
        )
        .await?;
    let mut removal = cookie(&state, SESSION_COOKIE, String::new());
    removal.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/console/login"))
        .cookie(removal)
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::templates::strict;

    #[test]
    fn the_template_names_only_what_the_page_has() {
        let context = LoginPage {
            title: "Sign in",
            csrf: "token",
            email: "kari@example.com",
            error: Some("wrong password"),
            user: None,
        };
        strict::render("console_login", &context);
    }
}
