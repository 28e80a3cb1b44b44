//! `muster demo`: a seeded ferry-fire incident, a manager and an agent, ready to explore.

use muster_core::contact_info::EmailAddress;
use muster_core::incident::{ChannelKind, IncidentSettings, IncidentStatus, PolicyKind, Severity};
use muster_core::language::Lang;
use muster_core::localized::Localized;
use muster_core::role::Role;
use muster_core::slug::Slug;
use muster_core::wait::WaitRange;
use muster_store::Store;
use muster_store::incidents::{ChannelInput, IncidentDraft, PolicyInput};

const SLUG: &str = "ms-aurora-fire";
const MANAGER: (&str, &str, &str) = ("manager@example.com", "Mina Manager", "demo-manager-pass");
const AGENT: (&str, &str, &str) = ("agent@example.com", "Arne Agent", "demo-agent-pass1");
const ACTOR: &str = "demo";

fn lang(code: &str) -> Lang {
    Lang::parse(code).unwrap_or_else(|_| Lang::english())
}

/// Text in English, Norwegian and Persian (the demo's three content languages).
fn text(en: &str, nb: &str, fa: &str) -> Localized {
    Localized::single(lang("en"), en)
        .with(lang("nb"), nb)
        .with(lang("fa"), fa)
}

async fn seed_incident(store: &Store) -> anyhow::Result<()> {
    let draft = IncidentDraft {
        slug: Slug::parse(SLUG)?,
        status: IncidentStatus::Active,
        severity: Severity::Critical,
        time_zone: "Europe/Oslo".to_owned(),
        default_language: lang("en"),
        languages: vec![lang("en"), lang("nb"), lang("fa")],
        title: text(
            "Fire on board MS Aurora: all sailings cancelled",
            "Brann om bord på MS Aurora: alle avganger innstilt",
            "آتش‌سوزی در کشتی ام‌اس آرورا: همه سفرها لغو شد",
        ),
        summary: text(
            "A fire broke out in the engine room of **MS Aurora** on the Bergen–Kiel crossing this morning. \
             All passengers and crew are safe and were brought ashore in Stavanger.\n\n\
             All sailings of MS Aurora are cancelled until further notice.",
            "Det brøt ut brann i maskinrommet på **MS Aurora** på overfarten Bergen–Kiel i morges. \
             Alle passasjerer og mannskap er i sikkerhet og ble brakt i land i Stavanger.\n\n\
             Alle avganger med MS Aurora er innstilt inntil videre.",
            "صبح امروز در موتورخانهٔ **ام‌اس آرورا** در مسیر برگن–کیل آتش‌سوزی رخ داد. \
             همهٔ مسافران و خدمه در امان هستند و در استاوانگر پیاده شدند.\n\n\
             همهٔ سفرهای ام‌اس آرورا تا اطلاع بعدی لغو شده است.",
        ),
        letter: text(
            "To everyone who was on board, and to everyone waiting to travel with us: I am deeply sorry. \
             Your safety comes first, and every one of you will be helped. We will refund or rebook every \
             affected journey, and we will tell you here as soon as we know more.",
            "Til alle som var om bord, og til alle som skulle reise med oss: Jeg beklager dypt. \
             Sikkerheten deres kommer først, og alle vil få hjelp. Vi refunderer eller ombooker alle \
             berørte reiser, og vi forteller dere her så snart vi vet mer.",
            "به همهٔ کسانی که در کشتی بودند و همهٔ کسانی که قصد سفر با ما را داشتند: عمیقاً متأسفم. \
             امنیت شما در اولویت است و به همه کمک خواهد شد. هزینهٔ همهٔ سفرهای آسیب‌دیده را بازپرداخت \
             یا سفر را جابه‌جا می‌کنیم.",
        ),
        letter_signature: "Ingrid Solberg, Chief Executive".to_owned(),
        contact_guidance: text(
            "Please **call only if you travel within 72 hours**. For everything else, use the form: \
             it reaches the same team and requests are handled by departure date.",
            "**Ring bare hvis du reiser innen 72 timer.** Bruk skjemaet for alt annet: \
             det går til det samme teamet, og henvendelser behandles etter avreisedato.",
            "لطفاً **فقط اگر ظرف ۷۲ ساعت آینده سفر دارید تماس بگیرید**. برای موارد دیگر از فرم استفاده کنید.",
        ),
        settings: IncidentSettings::default(),
    };
    store.create_incident(draft, ACTOR).await?;
    let policy = |kind, en: &str, standard: &str| PolicyInput {
        kind,
        title: Localized::single(lang("en"), en),
        body: Localized::single(
            lang("en"),
            format!("{en} for every sailing of MS Aurora until further notice."),
        ),
        standard: Localized::single(lang("en"), standard),
    };
    store
        .replace_policies(
            SLUG,
            vec![
                policy(
                    PolicyKind::Refund,
                    "Full refund",
                    "Refunds are processed within 5 working days.",
                ),
                policy(
                    PolicyKind::Rebooking,
                    "Free rebooking",
                    "Rebooking requests are confirmed within 48 hours.",
                ),
                policy(
                    PolicyKind::Cancellation,
                    "Free cancellation",
                    "Cancellations are confirmed by email within 24 hours.",
                ),
            ],
            ACTOR,
        )
        .await?;
    let channel = |kind, label: &str, address: &str, wait: Option<(i64, i64)>| ChannelInput {
        kind,
        label: Localized::single(lang("en"), label),
        address: address.to_owned(),
        posted_wait: wait.and_then(|(low, high)| WaitRange::new(low, high).ok()),
        posted_wait_overrides: false,
    };
    store
        .replace_channels(
            SLUG,
            vec![
                channel(
                    ChannelKind::Phone,
                    "Crisis line",
                    "+47 55 00 00 00",
                    Some((20, 45)),
                ),
                channel(
                    ChannelKind::Form,
                    "Online form",
                    "/i/ms-aurora-fire/form",
                    Some((120, 240)),
                ),
                channel(
                    ChannelKind::Email,
                    "Email",
                    "help@example.com",
                    Some((1440, 2880)),
                ),
                channel(ChannelKind::Social, "X / Twitter", "@exampleferries", None),
            ],
            ACTOR,
        )
        .await?;
    store
        .post_update(
            SLUG,
            text(
                "All 412 passengers are ashore in Stavanger. Hotel rooms and onward travel are being arranged.",
                "Alle 412 passasjerer er i land i Stavanger. Hotellrom og videre reise ordnes.",
                "همهٔ ۴۱۲ مسافر در استاوانگر پیاده شده‌اند. اتاق هتل و ادامهٔ سفر در حال هماهنگی است.",
            ),
            None,
            ACTOR,
        )
        .await?;
    store
        .post_update(
            SLUG,
            text(
                "Sailings for the next 14 days are cancelled. Refunds and rebookings are open: use the form.",
                "Avganger de neste 14 dagene er innstilt. Refusjon og ombooking er åpent: bruk skjemaet.",
                "سفرهای ۱۴ روز آینده لغو شده است. بازپرداخت و جابه‌جایی از طریق فرم انجام می‌شود.",
            ),
            None,
            ACTOR,
        )
        .await?;
    Ok(())
}

/// Seeds once (a second run leaves what is there) and returns what to print.
pub async fn seed(store: &Store, base_url: &str) -> anyhow::Result<String> {
    if store.incident_by_slug(SLUG).await?.is_none() {
        seed_incident(store).await?;
    }
    for team in ["refunds", "rebooking", "general"] {
        store.ensure_team(team, team).await?;
    }
    for ((email, name, password), role) in [(MANAGER, Role::Manager), (AGENT, Role::Agent)] {
        let user = store
            .upsert_user(&EmailAddress::parse(email)?, name, role, password)
            .await?;
        for team in store.list_teams().await? {
            store.add_team_member(team.id, user.id).await?;
        }
    }
    Ok(format!(
        "\nMuster demo\n  landing page   {base_url}/i/{SLUG}   (also {base_url}/crisis)\n  in Persian     {base_url}/i/{SLUG}?lang=fa\n  JSON / Atom    {base_url}/i/{SLUG}.json   {base_url}/i/{SLUG}/feed.atom\n  console        {base_url}/console\n    manager      {} / {}\n    agent        {} / {}\n",
        MANAGER.0, MANAGER.2, AGENT.0, AGENT.2
    ))
}
