"""A replica of 中国政协网 (www.cppcc.gov.cn): article pages, list pages and routes."""
