//! The route table and the HTTP server with graceful shutdown.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::error::{JsonPayloadError, UrlencodedError};
use actix_web::http::StatusCode;
use actix_web::middleware::{ErrorHandlers, from_fn};
use actix_web::web::{self, Data};
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, ResponseError};
use serde_json::json;

use crate::error::WebError;
use crate::public::case_link::CaseLinkLimiter;
use crate::public::subscribe::SignupLimiter;
use crate::rate_limit::RateLimiter;
use crate::state::AppState;
use crate::{api, console, health, public};
use muster_core::client_identity::TrustedProxies;

/// Largest body accepted anywhere: enough for a long form, not for an attack.
const MAX_BODY_BYTES: usize = 256 * 1024;
const INBOUND_MAX_BYTES: usize = 10 * 1024 * 1024;

fn body_error(message: String) -> actix_web::Error {
    let response = HttpResponse::BadRequest().json(json!({ "error": message }));
    actix_web::error::InternalError::from_response(message, response).into()
}

fn too_large() -> actix_web::Error {
    let message = format!(
        "the body is too large: at most {} KiB",
        MAX_BODY_BYTES / 1024
    );
    let response = HttpResponse::PayloadTooLarge().json(json!({ "error": message }));
    actix_web::error::InternalError::from_response(message, response).into()
}

async fn not_found(state: Data<AppState>, req: HttpRequest) -> HttpResponse {
    public::not_found::page(&state, &req).unwrap_or_else(|| WebError::NotFound.error_response())
}

/// The public routes, one resource per path, so that a method a path does not take is
/// answered 405 with `Allow` (actix's resource default) rather than 404. The router tries
/// them in order, each pattern a regex: the page a surge reads goes first (its pattern
/// matches none of the other routes' paths).
fn public_routes(cfg: &mut web::ServiceConfig) {
    use web::{get, post, resource};
    cfg.service(resource("/i/{slug:[a-z0-9-]+}").route(get().to(public::landing::page)))
        .service(resource("/healthz").route(get().to(health::healthz)))
        .service(resource("/readyz").route(get().to(health::readyz)))
        .service(resource("/metrics").route(get().to(health::metrics)))
        .service(resource("/crisis").route(get().to(public::landing::crisis)))
        .service(resource("/i/{slug:[a-z0-9-]+}.json").route(get().to(public::landing::json)))
        .service(resource("/i/{slug:[a-z0-9-]+}/feed.atom").route(get().to(public::landing::feed)))
        .service(
            resource("/i/{slug:[a-z0-9-]+}/wait-times.json")
                .route(get().to(public::wait_times::wait_times)),
        )
        .service(
            resource("/i/{slug:[a-z0-9-]+}/form")
                .route(get().to(public::form::show))
                .route(post().to(public::form::submit)),
        )
        .service(
            resource("/i/{slug:[a-z0-9-]+}/subscribe")
                .route(get().to(public::subscribe::show))
                .route(post().to(public::subscribe::subscribe)),
        )
        .service(
            resource("/u/{token:[0-9a-f]{16,128}}")
                .route(get().to(public::unsubscribe::confirm))
                .route(post().to(public::unsubscribe::unsubscribe)),
        )
        .service(
            resource("/c")
                .route(get().to(public::case_link::show))
                .route(post().to(public::case_link::resend)),
        )
        .service(
            resource("/c/{reference}")
                .route(get().to(public::case_page::show))
                .route(post().to(public::case_page::add)),
        );
}

/// Every route, shared by the server and the tests.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(MAX_BODY_BYTES)
            .error_handler(|err, _| match err {
                JsonPayloadError::Overflow { .. }
                | JsonPayloadError::OverflowKnownLength { .. } => too_large(),
                other => body_error(format!("the JSON body is not valid: {other}")),
            }),
    )
    .app_data(
        web::FormConfig::default()
            .limit(MAX_BODY_BYTES)
            .error_handler(|err, _| match err {
                UrlencodedError::ContentType => {
                    let message = "send the form as application/x-www-form-urlencoded".to_owned();
                    let response =
                        HttpResponse::UnsupportedMediaType().json(json!({ "error": message }));
                    actix_web::error::InternalError::from_response(message, response).into()
                }
                UrlencodedError::Overflow { .. } => too_large(),
                other => body_error(format!("the form could not be read: {other}")),
            }),
    )
    .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
    // An id in a path that is no id names nothing: 404, with its reason as JSON like
    // every other refusal (actix's own answer is plain text).
    .app_data(web::PathConfig::default().error_handler(|err, _| {
        let message = format!("not found: {err}");
        let response = HttpResponse::NotFound().json(json!({ "error": message }));
        actix_web::error::InternalError::from_response(message, response).into()
    }))
    .app_data(
        web::QueryConfig::default()
            .error_handler(|err, _| body_error(format!("the query string is not valid: {err}"))),
    )
    .configure(public_routes)
    .service(console::login::login_form)
    .service(console::login::login)
    .service(console::login::logout)
    .service(console::home::home)
    .service(console::home::open_incident)
    .service(console::audit::audit)
    .service(console::mail::show)
    .service(console::mail::upload)
    .service(console::mail::create)
    .service(console::mail::control)
    .service(console::queue::list)
    .service(console::dashboard::dashboard)
    .service(console::queue::take)
    .service(console::queue::list_fragment)
    .service(console::live::feed)
    .service(console::assets::style)
    .service(console::assets::script)
    .service(console::groups::list)
    .service(console::groups::create)
    .service(console::groups::show)
    .service(console::groups::send_reply)
    .service(console::groups::undo)
    .service(console::groups::close)
    .service(console::case_view::show)
    .service(console::case_view::add_note)
    .service(console::case_view::send_reply)
    .service(console::case_view::set_status)
    .service(console::case_view::move_team)
    .service(console::merge::merge_into)
    .service(console::merge::undo)
    .service(console::case_view::log_call)
    .service(console::incidents::show)
    .service(console::incidents::edit)
    .service(console::incidents::post_update)
    .service(console::incidents::policies)
    .service(console::incidents::channels)
    .service(console::incidents::staffing)
    .service(console::incidents::form_section)
    .service(console::mailboxes::show)
    .service(console::mailboxes::retry)
    .service(console::webhooks::list)
    .service(console::webhooks::create)
    .service(console::webhooks::show)
    .service(console::webhooks::disable)
    .service(console::webhooks::enable)
    .service(console::webhooks::delete)
    .service(api::openapi::document)
    .service(api::incidents::list)
    .service(api::incidents::open)
    .service(api::incidents::show)
    .service(api::incidents::edit)
    .service(api::incidents::post_update)
    .service(api::incidents::policies)
    .service(api::incidents::channels)
    .service(api::incidents::channel_wait)
    .service(api::incidents::staffing)
    .service(api::audience::import)
    .service(api::audience::counts)
    .service(api::campaigns::create)
    .service(api::campaigns::list)
    .service(api::campaigns::preview)
    .service(api::campaigns::test)
    .service(api::campaigns::show)
    .service(api::campaigns::control)
    .service(api::incidents::canned)
    .service(api::webhooks::list)
    .service(api::webhooks::create)
    .service(api::webhooks::delete)
    .service(api::webhooks::deliveries)
    .service(api::queue::next)
    .service(api::voice::incoming)
    .service(api::voice::menu)
    .service(api::voice::call_back)
    .service(
        web::resource("/api/v1/channels/twilio/sms")
            .route(web::post().to(api::channels::twilio_sms)),
    )
    .service(
        web::resource("/api/v1/channels/twilio/status")
            .route(web::post().to(api::channels::twilio_status)),
    )
    .service(
        web::resource("/api/v1/channels/whatsapp")
            .route(web::get().to(api::channels::whatsapp_verify))
            .route(web::post().to(api::channels::whatsapp_notification)),
    )
    .service(
        web::resource("/api/v1/channels/telegram")
            .route(web::post().to(api::channels::telegram_update)),
    )
    .service(
        web::resource("/api/v1/inbound/{channel}")
            // Raw emails may carry attachments: a larger limit here only.
            .app_data(web::PayloadConfig::new(INBOUND_MAX_BYTES))
            .route(web::post().to(api::inbound::receive)),
    )
    .default_service(web::to(not_found));
}

/// Serves until the returned server handle is stopped; in-flight requests get
/// `shutdown_timeout` to finish.
pub fn run(
    listener: TcpListener,
    state: Data<AppState>,
    proxies: TrustedProxies,
    workers: usize,
    shutdown_timeout: Duration,
) -> std::io::Result<actix_web::dev::Server> {
    let proxies = Data::new(proxies);
    let signups = Data::new(SignupLimiter(RateLimiter::across_replicas(
        "signup",
        state.config.intake_limit,
        state.config.intake_window,
        &state.store,
    )));
    // Ten asks per client and intake window: enough for a family's cases, not for guessing.
    let case_links = Data::new(CaseLinkLimiter(RateLimiter::across_replicas(
        "case_link",
        10,
        state.config.intake_window,
        &state.store,
    )));
    let base_url = state.base_url.clone();
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(proxies.clone())
            .app_data(signups.clone())
            .app_data(case_links.clone())
            .wrap(ErrorHandlers::new().handler(StatusCode::NOT_FOUND, public::not_found::replace))
            .wrap(crate::security_headers::middleware(&base_url))
            // Inside `observe`, which logs a HEAD as a HEAD.
            .wrap(from_fn(crate::head::head_as_get))
            .wrap(from_fn(crate::observe::observe))
            .configure(configure)
    })
    .workers(workers.max(1))
    .shutdown_timeout(shutdown_timeout.as_secs())
    // Signals are handled by the binary, which also stops the workers.
    .disable_signals()
    .listen(listener)?
    .run();
    Ok(server)
}
