DROP TABLE IF EXISTS cancellation_policies;
DROP TABLE IF EXISTS event_tags;
DROP TABLE IF EXISTS tags;
DROP TABLE IF EXISTS event_sections;
DROP TABLE IF EXISTS events;
DROP TABLE IF EXISTS template_sections;
DROP TABLE IF EXISTS venue_templates;
