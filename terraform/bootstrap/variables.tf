variable "location" {
  type        = string
  description = "Location of the state buckets (a multi-region such as `US`, or a region)."
  default     = "US"
}
