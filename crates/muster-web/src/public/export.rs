//! `muster export-static DIR`: the public pages as files, for a CDN or an object store to
//! serve if Muster itself is down. Each file is written with `.gz` and `.br` siblings so a
//! static server can send them pre-compressed (nginx `gzip_static`, `brotli_static`).

use std::path::{Path, PathBuf};

use muster_core::incident::Incident;

use crate::page_cache::{CachedBody, IncidentPages};
use crate::public::render::PageRenderer;

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("writing {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("rendering {slug}: {source}")]
    Render {
        slug: String,
        source: Box<handlebars::RenderError>,
    },
}

fn write_body(path: &Path, body: &CachedBody) -> Result<(), ExportError> {
    let write = |target: PathBuf, bytes: &[u8]| {
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|source| ExportError::Write {
                path: parent.to_owned(),
                source,
            })?;
        }
        std::fs::write(&target, bytes).map_err(|source| ExportError::Write {
            path: target,
            source,
        })
    };
    let with_suffix = |suffix: &str| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    };
    write(path.to_owned(), &body.identity)?;
    write(with_suffix(".gz"), &body.gzip)?;
    write(with_suffix(".br"), &body.brotli)
}

/// Writes every public incident; returns the files written (without their compressed twins).
pub fn export(
    renderer: &PageRenderer<'_>,
    incidents: &[Incident],
    dir: &Path,
) -> Result<Vec<PathBuf>, ExportError> {
    let mut written = Vec::new();
    for incident in incidents.iter().filter(|i| i.status.is_public()) {
        let slug = incident.slug.as_str();
        let pages = IncidentPages::render(renderer, incident).map_err(|e| ExportError::Render {
            slug: slug.to_owned(),
            source: Box::new(e),
        })?;
        let base = dir.join("i").join(slug);
        let mut files = vec![(
            base.join("index.html"),
            pages.landing_for(&pages.default_language),
        )];
        for lang in &pages.languages {
            files.push((
                base.join(lang.as_str()).join("index.html"),
                pages.landing.get(lang),
            ));
        }
        files.push((
            dir.join("i").join(format!("{slug}.json")),
            Some(&pages.json),
        ));
        files.push((base.join("feed.atom"), Some(&pages.atom)));
        for (path, body) in files {
            if let Some(body) = body {
                write_body(&path, body)?;
                written.push(path);
            }
        }
    }
    Ok(written)
}
